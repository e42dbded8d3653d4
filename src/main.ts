#!/usr/bin/env node
// The `skiff` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.

import { parseArgs } from "node:util";
import { loadConfig } from "./config/load.js";
import { ConfigError } from "./config/parse.js";
import { renderConfig } from "./config/render.js";
import { importImages, listImages } from "./cli/images.js";
import { runDaemon } from "./daemon.js";
import { createLogger } from "./log.js";
import { CRI_API_VERSION, SKIFF_VERSION } from "./version.js";

const USAGE = `usage:
  skiff daemon [--config FILE] [--listen PATH] [--root DIR] [--state DIR] [--log-level LEVEL]
  skiff images import FILE [--config FILE] [--listen PATH]   load a docker save or OCI layout archive
  skiff images ls [--config FILE] [--listen PATH]
  skiff config [--config FILE] [--listen PATH] [--root DIR] [--state DIR] [--log-level LEVEL]
                                                            print the effective configuration (TOML)
  skiff version
  skiff help`;

class UsageError extends Error {}

function daemonFlags(args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string" },
        listen: { type: "string" },
        root: { type: "string" },
        state: { type: "string" },
        "log-level": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { configPath: values.config, flags: { listen: values.listen, root: values.root, state: values.state, logLevel: values["log-level"] } };
}

async function daemonCommand(args: string[]): Promise<void> {
  const { configPath, flags } = daemonFlags(args);
  const config = await loadConfig(configPath, flags);
  const logger = createLogger(config.logLevel);
  try {
    await runDaemon(config, logger, () => loadConfig(configPath, flags));
  } catch (err) {
    logger.fatal({ err }, "skiff daemon failed to start");
    logger.flush();
    throw err;
  }
}

async function imagesCommand(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { config: { type: "string" }, listen: { type: "string" } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [sub, ...files] = parsed.positionals;
  // The socket comes from the same config the daemon reads, unless given.
  const socket = parsed.values.listen ?? (await loadConfig(parsed.values.config, {})).listen;
  if (sub === "import") {
    if (files.length !== 1) throw new UsageError("skiff images import takes one archive file");
    process.stdout.write(await importImages(socket, files[0]!));
  } else if (sub === "ls" || sub === "list") {
    if (files.length) throw new UsageError("skiff images ls takes no arguments");
    process.stdout.write(await listImages(socket));
  } else {
    throw new UsageError(sub ? `unknown images command "${sub}"` : "skiff images needs a command: import or ls");
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "daemon":
        await daemonCommand(rest);
        return -1; // keeps running; exits from its signal handlers
      case "images":
        await imagesCommand(rest);
        return 0;
      case "config": {
        const { configPath, flags } = daemonFlags(rest);
        process.stdout.write(renderConfig(await loadConfig(configPath, flags)));
        return 0;
      }
      case "version":
        process.stdout.write(`skiff ${SKIFF_VERSION} (CRI runtime.${CRI_API_VERSION})\n`);
        return 0;
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(command ? `unknown command "${command}"` : "no command given");
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`skiff: ${err.message}\n`);
      if (err instanceof UsageError) process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`skiff: ${(err as Error).message}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// Exit outright: a daemon that failed to start may still hold watchers or workers.
if (code >= 0) process.exit(code);

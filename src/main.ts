#!/usr/bin/env node
// The `skiff` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.

import { parseArgs } from "node:util";
import { loadConfig } from "./config/load.js";
import { ConfigError } from "./config/parse.js";
import { runDaemon } from "./daemon.js";
import { createLogger } from "./log.js";
import { CRI_API_VERSION, SKIFF_VERSION } from "./version.js";

const USAGE = `usage:
  skiff daemon [--config FILE] [--listen PATH] [--root DIR] [--state DIR] [--log-level LEVEL]
  skiff version
  skiff help`;

class UsageError extends Error {}

async function daemonCommand(args: string[]): Promise<void> {
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
  const config = await loadConfig(values.config, {
    listen: values.listen,
    root: values.root,
    state: values.state,
    logLevel: values["log-level"],
  });
  const logger = createLogger(config.logLevel);
  try {
    await runDaemon(config, logger);
  } catch (err) {
    logger.fatal({ err }, "skiff daemon failed to start");
    logger.flush();
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "daemon":
        await daemonCommand(rest);
        return -1; // keeps running; exits from its signal handlers
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
if (code >= 0) process.exitCode = code;

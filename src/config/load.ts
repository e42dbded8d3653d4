// Reads the config file (if any) and applies flags. The only effectful part of
// config handling: a missing default file is fine, a missing named file is not.

import { readFile } from "node:fs/promises";
import type { Config } from "./config.js";
import { DEFAULT_CONFIG_PATH } from "./config.js";
import { buildConfig, ConfigError, parseTomlText, type ConfigFlags } from "./parse.js";

export async function loadConfig(configPath: string | undefined, flags: ConfigFlags): Promise<Config> {
  const file = configPath ?? DEFAULT_CONFIG_PATH;
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!(code === "ENOENT" && configPath === undefined)) {
      throw new ConfigError("", `cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return buildConfig(parseTomlText(text, file), flags);
}

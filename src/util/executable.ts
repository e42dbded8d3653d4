// Finding executables on PATH or in given directories (as the shell would).

import { access, constants, stat } from "node:fs/promises";
import path from "node:path";

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const st = await stat(p);
    if (!st.isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `name` in one of `dirs`, or undefined. */
export async function findInDirs(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Resolves a command the way exec does: a path is checked as is, a bare name is searched on PATH. */
export async function findExecutable(command: string, envPath = process.env.PATH ?? ""): Promise<string | undefined> {
  if (command.includes("/")) return (await isExecutableFile(command)) ? path.resolve(command) : undefined;
  return findInDirs(command, envPath.split(":").filter(Boolean));
}

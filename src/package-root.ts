// Files shipped beside the code (package.json, proto/, the native addon) are
// found from the package root, not from the module's own depth: the same code
// runs as src/*.ts under the tests, as dist/**/*.js after tsc, and bundled
// into one file (dist/bundle/skiff.mjs) by the daemon's launcher.

import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** The nearest directory at or above this module holding a package.json. */
export function packageRoot(): string {
  if (root === undefined) {
    let dir = path.dirname(fileURLToPath(import.meta.url));
    while (!existsSync(path.join(dir, "package.json"))) {
      const up = path.dirname(dir);
      if (up === dir) throw new Error(`no package.json at or above ${fileURLToPath(import.meta.url)}`);
      dir = up;
    }
    root = dir;
  }
  return root;
}

/** A path below the package root. */
export function packageFile(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

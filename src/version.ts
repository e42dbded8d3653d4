// skiff's own version, read once from package.json so there is one source of truth.

import { readFileSync } from "node:fs";
import { packageFile } from "./package-root.js";

const pkg = JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string };

export const SKIFF_VERSION: string = pkg.version;
export const RUNTIME_NAME = "skiff";
/** The CRI API version served (the proto package). */
export const CRI_API_VERSION = "v1";

// skiff's own version, read once from package.json so there is one source of truth.

import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

export const SKIFF_VERSION: string = pkg.version;
export const RUNTIME_NAME = "skiff";
/** The CRI API version served (the proto package). */
export const CRI_API_VERSION = "v1";

// Structured logs (pino, JSON lines on stderr). Credentials must never reach a
// log line: the CRI edge logs ids only, and the redaction below is a second net.

import { pino, type Logger } from "pino";
import type { LogLevel } from "./config/config.js";

export type { Logger };

const SECRET_PATHS = ["auth", "password", "identity_token", "registry_token", "*.auth", "*.password", "*.identity_token", "*.registry_token"];

export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: SECRET_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

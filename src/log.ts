// Structured logs (pino, JSON lines on stderr). Credentials must never reach a
// log line: the CRI edge logs ids only, and the redaction below is a second net.

import { pino, type Logger } from "pino";
import type { LogLevel } from "./config/config.js";

export type { Logger };

const SECRET_PATHS = ["auth", "password", "identity_token", "registry_token", "*.auth", "*.password", "*.identity_token", "*.registry_token"];

/**
 * Every logger made so far (weakly held): pino copies the level into each
 * child when it is made, so a level change at run time (SIGHUP) must reach
 * the children one by one.
 */
const loggers = new Set<WeakRef<Logger>>();

export function createLogger(level: LogLevel): Logger {
  const root = pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: SECRET_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      onChild: (child) => {
        loggers.add(new WeakRef(child));
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
  loggers.add(new WeakRef(root));
  return root;
}

/** Sets the level of every live logger. */
export function setLogLevel(level: LogLevel): void {
  for (const ref of loggers) {
    const l = ref.deref();
    if (l) l.level = level;
    else loggers.delete(ref);
  }
}

// Preparing the unix socket path: a stale socket left by a killed daemon is
// replaced, but a live daemon on it is never stolen from.

import { lstat, mkdir, unlink } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

/** Resolves true if something accepts connections on the socket. */
function answers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socketPath);
    const done = (alive: boolean) => {
      conn.destroy();
      resolve(alive);
    };
    conn.setTimeout(timeoutMs, () => done(true)); // accepted but silent: still someone's socket
    conn.once("connect", () => done(true));
    conn.once("error", () => done(false));
  });
}

export async function prepareSocketPath(socketPath: string): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o711 });
  let st;
  try {
    st = await lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new Error(`${socketPath} exists and is not a socket; remove it or choose another path with --listen`);
  }
  if (await answers(socketPath)) {
    throw new Error(`another daemon is already listening on ${socketPath}; stop it first or choose another path with --listen`);
  }
  await unlink(socketPath);
}

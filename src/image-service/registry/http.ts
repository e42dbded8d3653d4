// Minimal HTTP/1.1 requests on node:http/https with keep-alive agents, a
// timeout for getting response headers, optional unverified TLS, and abort.

import http from "node:http";
import https from "node:https";

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false }),
};

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  skipTlsVerify?: boolean;
  /** Time allowed to connect and receive the response headers. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A network-level failure worth retrying (reset, refused, timeout, stall). */
export class TransientError extends Error {}

export function request(url: URL, opts: RequestOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === "https:";
    const agent = isHttps ? (opts.skipTlsVerify ? agents.httpsInsecure : agents.https) : agents.http;
    const req = (isHttps ? https : http).request(url, {
      method: opts.method ?? "GET",
      headers: { "user-agent": "skiff", ...opts.headers },
      agent,
      signal: opts.signal,
    });
    const timer = setTimeout(() => req.destroy(new TransientError(`no response from ${url.host} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on("response", (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(opts.body);
  });
}

export async function readBody(res: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.destroy();
      throw new Error(`response body larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  const code = (err as NodeJS.ErrnoException)?.code;
  return ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "UND_ERR_SOCKET", "ECONNABORTED"].includes(code ?? "") ||
    /socket hang up|premature close/i.test((err as Error)?.message ?? "");
}

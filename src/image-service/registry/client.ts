// A client for one repository of one registry (OCI distribution spec):
// manifests and blobs, with authentication (anonymous or credentialed bearer
// tokens, basic auth), redirects, retries with backoff for transient failures,
// timeouts, and a stall detector on blob bodies. Endpoints (mirrors, then the
// registry) are tried in order.

import type { IncomingMessage } from "node:http";
import { PassThrough, type Readable } from "node:stream";
import { notFound, SkiffError, unavailable } from "../../errors.js";
import type { Logger } from "../../log.js";
import { basicAuth, parseChallenge, type Credentials } from "./auth.js";
import type { Endpoint } from "./hosts.js";
import { isTransient, readBody, request, TransientError } from "./http.js";

export interface RegistryClientOptions {
  requestTimeoutMs: number;
  /** A blob body that delivers no byte for this long fails (and is retried). */
  stallTimeoutMs: number;
  maxAttempts: number;
  log: Logger;
  signal?: AbortSignal;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export class RegistryClient {
  /** Authorization header per endpoint, once obtained. */
  private readonly authHeaders = new Map<string, string>();

  constructor(
    private readonly domain: string,
    private readonly endpoints: Endpoint[],
    private readonly repository: string,
    private readonly credentials: Credentials | undefined,
    private readonly opts: RegistryClientOptions,
  ) {}

  async getManifest(reference: string, accept: string): Promise<{ data: Buffer; contentType: string }> {
    return this.onEndpoints(`manifest ${reference}`, async (ep) => {
      const res = await this.open(ep, `/v2/${this.repository}/manifests/${reference}`, { accept });
      const data = await readBody(res, MAX_MANIFEST_BYTES);
      return { data, contentType: String(res.headers["content-type"] ?? "") };
    });
  }

  /** Small blobs (the image config) read whole. */
  async getBlob(digest: string, maxBytes: number): Promise<Buffer> {
    return this.onEndpoints(`blob ${digest}`, async (ep) => readBody(await this.open(ep, `/v2/${this.repository}/blobs/${digest}`, {}), maxBytes));
  }

  /** A blob body as a stream that fails if it stalls. */
  async openBlob(digest: string): Promise<Readable> {
    return this.onEndpoints(`blob ${digest}`, async (ep) => this.withStallDetection(await this.open(ep, `/v2/${this.repository}/blobs/${digest}`, {}), digest));
  }

  private withStallDetection(res: IncomingMessage, digest: string): Readable {
    const out = new PassThrough();
    const ms = this.opts.stallTimeoutMs;
    let timer = setTimeout(stalled, ms);
    function stalled() {
      res.destroy(new TransientError(`transfer of ${digest} stalled: no data for ${ms / 1000} s`));
    }
    res.on("data", () => {
      clearTimeout(timer);
      timer = setTimeout(stalled, ms);
    });
    res.on("close", () => clearTimeout(timer));
    res.on("error", (err) => out.destroy(err));
    res.pipe(out);
    return out;
  }

  /** Runs `fn` against each endpoint in turn, with retries; mirrors may fail silently. */
  private async onEndpoints<T>(what: string, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const ep of this.endpoints) {
      try {
        return await this.withRetries(what, ep, () => fn(ep));
      } catch (err) {
        lastError = err;
        if (this.opts.signal?.aborted) break;
        this.opts.log.debug({ endpoint: ep.base, what, error: (err as Error).message }, "registry endpoint failed; trying the next one");
      }
    }
    throw this.describe(what, lastError);
  }

  private async withRetries<T>(what: string, ep: Endpoint, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retryable = isTransient(err) || (err instanceof HttpStatusError && (err.status === 429 || err.status >= 500));
        // A failing mirror is not worth waiting for: the next endpoint is tried at once.
        const attempts = ep.mirror ? 1 : this.opts.maxAttempts;
        if (!retryable || attempt >= attempts || this.opts.signal?.aborted) throw err;
        const backoff = err instanceof HttpStatusError && err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, 10_000) : 200 * 2 ** (attempt - 1) + Math.random() * 100;
        this.opts.log.info({ endpoint: ep.base, what, attempt, backoffMs: Math.round(backoff), error: (err as Error).message }, "registry request failed; retrying");
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  /** GET with auth and redirects; resolves to a 200 response. */
  private async open(ep: Endpoint, path: string, headers: Record<string, string>): Promise<IncomingMessage> {
    let url = new URL(ep.base + path);
    let authorized = false;
    for (let hops = 0; hops < 10; hops++) {
      const sameHost = url.origin === new URL(ep.base).origin;
      const auth = sameHost ? this.authHeaders.get(ep.base) : undefined; // never send credentials to a redirect target
      const res = await request(url, {
        headers: { ...headers, ...(auth ? { authorization: auth } : {}) },
        skipTlsVerify: ep.skipTlsVerify,
        timeoutMs: this.opts.requestTimeoutMs,
        signal: this.opts.signal,
      });
      const status = res.statusCode ?? 0;
      if (status === 200) return res;
      res.resume();
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        url = new URL(res.headers.location, url);
        continue;
      }
      if (status === 401 && sameHost && !authorized) {
        await this.authorize(ep, String(res.headers["www-authenticate"] ?? ""));
        authorized = true;
        continue;
      }
      const retryAfter = Number(res.headers["retry-after"]);
      throw new HttpStatusError(status, `HTTP ${status} from ${url.host}`, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
    }
    throw new Error(`too many redirects from ${ep.base}${path}`);
  }

  private async authorize(ep: Endpoint, header: string): Promise<void> {
    const c = this.credentials;
    const challenge = parseChallenge(header);
    if (c?.registryToken) {
      this.authHeaders.set(ep.base, `Bearer ${c.registryToken}`);
      return;
    }
    if (!challenge) throw new HttpStatusError(401, `HTTP 401 from ${new URL(ep.base).host} with no usable WWW-Authenticate challenge`);
    if (challenge.scheme === "basic") {
      const basic = c && basicAuth(c);
      if (!basic) throw new HttpStatusError(401, "the registry requires a username and password");
      this.authHeaders.set(ep.base, basic);
      return;
    }
    const realm = challenge.params.realm;
    if (!realm) throw new HttpStatusError(401, "the registry's bearer challenge has no realm");
    const tokenUrl = new URL(realm);
    const scope = `repository:${this.repository}:pull`;
    let res: IncomingMessage;
    if (c?.identityToken) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: c.identityToken, service: challenge.params.service ?? "", scope, client_id: "skiff" });
      res = await request(tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
        skipTlsVerify: ep.skipTlsVerify,
        timeoutMs: this.opts.requestTimeoutMs,
        signal: this.opts.signal,
      });
    } else {
      if (challenge.params.service) tokenUrl.searchParams.set("service", challenge.params.service);
      tokenUrl.searchParams.set("scope", scope);
      const basic = c && basicAuth(c);
      res = await request(tokenUrl, {
        headers: basic ? { authorization: basic } : {},
        skipTlsVerify: ep.skipTlsVerify,
        timeoutMs: this.opts.requestTimeoutMs,
        signal: this.opts.signal,
      });
    }
    const body = await readBody(res, 1024 * 1024);
    if (res.statusCode !== 200) throw new HttpStatusError(401, `the token service at ${tokenUrl.host} refused the request (HTTP ${res.statusCode})`);
    const doc = JSON.parse(body.toString("utf8")) as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new HttpStatusError(401, `the token service at ${tokenUrl.host} returned no token`);
    this.authHeaders.set(ep.base, `Bearer ${token}`);
  }

  /** A domain error a person can act on. */
  private describe(what: string, err: unknown): Error {
    const where = `${this.domain}/${this.repository}`;
    if (err instanceof SkiffError) return err;
    if (err instanceof HttpStatusError) {
      if (err.status === 404) return notFound(`${where}: ${what} not found in the registry`);
      if (err.status === 401 || err.status === 403) {
        const hint = this.credentials ? "the registry refused the credentials" : "the registry requires authentication; pass credentials";
        return new SkiffError("permission-denied", `${where}: ${what}: ${hint} (${err.message})`);
      }
      if (err.status === 429 || err.status >= 500) return unavailable(`RegistryUnavailable: ${where}: ${what}: ${err.message}`);
      return new SkiffError("failed-precondition", `${where}: ${what}: ${err.message}`);
    }
    if (isTransient(err) || (err as NodeJS.ErrnoException)?.code) {
      return unavailable(`RegistryUnavailable: ${where}: ${what}: ${(err as Error).message}`, err);
    }
    return new Error(`${where}: ${what}: ${(err as Error)?.message ?? String(err)}`);
  }
}

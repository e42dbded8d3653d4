// A real registry (Debian's docker-registry, distribution v2) on 127.0.0.1 on a
// free port with temporary storage, and a client that pushes built images to it.

import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { rm } from "node:fs/promises";
import type { Blob, BuiltImage } from "../../support/oci-image.js";
import { startLogged, stopProcess, waitFor, type Started } from "./processes.js";
import { fixtureDir } from "./run-dir.js";

export interface RegistryOptions {
  /** Require basic auth with this htpasswd file content (bcrypt entries). */
  htpasswd?: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export class TestRegistry {
  private proc?: Started;
  readonly logFile: string;
  /** host:port, as used in image references. */
  host = "";
  /** Basic credentials used for pushes when the registry needs auth. */
  pushAuth?: { username: string; password: string };

  private constructor(readonly dir: string) {
    this.logFile = path.join(dir, "registry.log");
  }

  get url(): string {
    return `http://${this.host}`;
  }

  static async start(options: RegistryOptions = {}): Promise<TestRegistry> {
    const r = new TestRegistry(await fixtureDir("reg"));
    const port = await freePort();
    r.host = `127.0.0.1:${port}`;
    const auth = options.htpasswd
      ? `auth:\n  htpasswd:\n    realm: skiff-test\n    path: ${path.join(r.dir, "htpasswd")}\n`
      : "";
    if (options.htpasswd) await writeFile(path.join(r.dir, "htpasswd"), options.htpasswd);
    const config = [
      "version: 0.1",
      "log:",
      "  level: info",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${path.join(r.dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${r.host}`,
      auth,
    ].join("\n");
    const configFile = path.join(r.dir, "config.yml");
    await writeFile(configFile, config);
    r.proc = startLogged("docker-registry", ["serve", configFile], r.logFile);
    await waitFor("the registry to answer /v2/", async () => {
      if (r.proc!.child.exitCode !== null) throw new Error("docker-registry exited; see " + r.logFile);
      const res = await fetch(`${r.url}/v2/`);
      return res.status === 200 || res.status === 401 ? true : undefined;
    });
    return r;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    if (!this.pushAuth) return extra;
    const token = Buffer.from(`${this.pushAuth.username}:${this.pushAuth.password}`).toString("base64");
    return { ...extra, authorization: `Basic ${token}` };
  }

  async pushBlob(repo: string, blob: Blob): Promise<void> {
    const head = await fetch(`${this.url}/v2/${repo}/blobs/${blob.digest}`, { method: "HEAD", headers: this.headers() });
    if (head.status === 200) return;
    const start = await fetch(`${this.url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: this.headers() });
    if (start.status !== 202) throw new Error(`blob upload start for ${repo}: HTTP ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get("location")!, this.url);
    location.searchParams.set("digest", blob.digest);
    const put = await fetch(location, {
      method: "PUT",
      headers: this.headers({ "content-type": "application/octet-stream", "content-length": String(blob.size) }),
      body: blob.data,
    });
    if (put.status !== 201) throw new Error(`blob upload of ${blob.digest} to ${repo}: HTTP ${put.status} ${await put.text()}`);
  }

  async pushManifest(repo: string, reference: string, manifest: Blob): Promise<void> {
    const res = await fetch(`${this.url}/v2/${repo}/manifests/${reference}`, {
      method: "PUT",
      headers: this.headers({ "content-type": manifest.mediaType }),
      body: manifest.data,
    });
    if (res.status !== 201) throw new Error(`manifest push ${repo}:${reference}: HTTP ${res.status} ${await res.text()}`);
  }

  /** Pushes layers, config and manifest; returns the reference `host/repo:tag`. */
  async push(repo: string, tag: string, image: BuiltImage): Promise<string> {
    await this.pushImageBlobs(repo, image);
    await this.pushManifest(repo, tag, image.manifest);
    return `${this.host}/${repo}:${tag}`;
  }

  /** Pushes each image by digest, then the index under `tag`. */
  async pushIndex(repo: string, tag: string, index: Blob, images: BuiltImage[]): Promise<string> {
    for (const img of images) {
      await this.pushImageBlobs(repo, img);
      await this.pushManifest(repo, img.manifest.digest, img.manifest);
    }
    await this.pushManifest(repo, tag, index);
    return `${this.host}/${repo}:${tag}`;
  }

  private async pushImageBlobs(repo: string, image: BuiltImage): Promise<void> {
    await Promise.all(image.layers.map((l) => this.pushBlob(repo, l)));
    await this.pushBlob(repo, image.config);
  }

  async stop(): Promise<void> {
    if (this.proc) await stopProcess(this.proc, "SIGTERM");
    await rm(this.dir, { recursive: true, force: true });
  }
}

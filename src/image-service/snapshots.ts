// Unpacked layers, one directory per layer chain: <root>/snapshots/<n>/fs holds
// the layer's own files in overlayfs form (its lower layers are the parent
// chain's snapshots). Directories get short numeric names so that an overlay
// mount of many layers stays within the kernel's one-page option limit.
// A snapshot's record goes into the store's journal (<root>/snapshots/records.journal)
// once its files are in place: a directory without one is unfinished work from
// a killed daemon and is removed at start, as is a snapshot whose parent is
// gone (garbage collection removes a chain's snapshots in parallel). Earlier
// versions kept the record as <n>/snapshot.json; the first start takes those in.

import { lstat, link, mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { failedPrecondition } from "../errors.js";
import { JOURNAL_FILE, Journal } from "../store/journal.js";
import type { Trash } from "../store/trash.js";
import { SingleFlight } from "../util/single-flight.js";
import { ancestors } from "./unpack/entry-path.js";

async function plainDirs(base: string, dirs: string[]): Promise<boolean> {
  for (const d of dirs) {
    const st = await lstat(path.join(base, d)).catch(() => undefined);
    if (!st || !st.isDirectory()) return false;
  }
  return true;
}

export interface Snapshot {
  /** Short numeric directory name. */
  id: number;
  chainId: string;
  parent?: string;
  diffId: string;
  usedBytes: number;
  inodes: number;
  createdAt: number;
}

export interface PopulateResult {
  usedBytes: number;
  inodes: number;
  pendingHardlinks: { path: string; target: string }[];
}

export class SnapshotStore {
  readonly dir: string;
  private readonly byChain = new Map<string, Snapshot>();
  private nextId = 1;
  private readonly flights = new SingleFlight<Snapshot>();
  private readonly journal: Journal<Snapshot>;

  constructor(
    root: string,
    private readonly trash: Trash,
    warn: (message: string) => void = () => {},
  ) {
    this.dir = path.join(root, "snapshots");
    this.journal = new Journal<Snapshot>(path.join(this.dir, JOURNAL_FILE), { warn, keyOf: (s) => s.chainId });
  }

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const recorded = this.journal.open();
    const byDir = new Map([...recorded.values()].map((s) => [String(s.id), s]));
    const taken: Snapshot[] = [];
    // The journal's directories first: they win over any other directory of their chain.
    const names = (await readdir(this.dir)).filter((n) => n !== JOURNAL_FILE).sort((a, b) => Number(byDir.has(b)) - Number(byDir.has(a)));
    for (const name of names) {
      const full = path.join(this.dir, name);
      let record = /^\d+$/.test(name) ? byDir.get(name) : undefined;
      if (!record && /^\d+$/.test(name)) {
        record = await readFile(path.join(full, "snapshot.json"), "utf8").then((t) => JSON.parse(t) as Snapshot, () => undefined);
        if (record && !this.byChain.has(record.chainId)) taken.push(record);
      }
      // No record: unfinished. A second directory of one chain (never made; cheap to rule out): left out too.
      if (!record || this.byChain.has(record.chainId)) {
        await rm(full, { recursive: true, force: true });
        continue;
      }
      this.byChain.set(record.chainId, record);
      this.nextId = Math.max(this.nextId, record.id + 1);
    }
    // An earlier version's record files: into the journal, then away (a removal must not find them again).
    await Promise.all(taken.map((s) => this.journal.put(s.chainId, JSON.stringify(s))));
    for (const s of taken) await rm(path.join(this.dir, String(s.id), "snapshot.json"), { force: true });
    // Recorded, but the directory went to the trash before the removal's record did.
    await Promise.all([...recorded.values()].filter((s) => this.byChain.get(s.chainId) !== s).map((s) => this.journal.delete(s.chainId)));
    // A crash in the middle of a collection can leave a child without its parent: useless, and unsafe to stack on.
    for (let orphans = this.orphans(); orphans.length; orphans = this.orphans()) {
      for (const s of orphans) await this.remove(s.chainId);
    }
  }

  private orphans(): Snapshot[] {
    return this.all().filter((s) => s.parent !== undefined && !this.byChain.has(s.parent));
  }

  get(chainId: string): Snapshot | undefined {
    return this.byChain.get(chainId);
  }

  all(): Snapshot[] {
    return [...this.byChain.values()];
  }

  fsPath(s: Snapshot): string {
    return path.join(this.dir, String(s.id), "fs");
  }

  /** The snapshot and its ancestors, top layer first (overlay lowerdir order). */
  stack(chainId: string): Snapshot[] {
    const out: Snapshot[] = [];
    for (let s = this.byChain.get(chainId); s; s = s.parent ? this.byChain.get(s.parent) : undefined) out.push(s);
    return out;
  }

  /**
   * Creates the snapshot for `chainId` once, however many callers ask at once.
   * `populate` fills the directory; the parent must already exist.
   */
  create(chainId: string, parent: string | undefined, diffId: string, populate: (fsDir: string) => Promise<PopulateResult>): Promise<Snapshot> {
    const existing = this.byChain.get(chainId);
    if (existing) return Promise.resolve(existing);
    return this.flights.run(chainId, async () => {
      const id = this.nextId++;
      const base = path.join(this.dir, String(id));
      const fsDir = path.join(base, "fs");
      try {
        await mkdir(fsDir, { recursive: true, mode: 0o755 });
        const r = await populate(fsDir);
        if (r.pendingHardlinks.length) await this.linkFromLowers(fsDir, parent, r.pendingHardlinks);
        const snap: Snapshot = { id, chainId, parent, diffId, usedBytes: r.usedBytes, inodes: r.inodes, createdAt: Date.now() };
        await this.journal.put(chainId, JSON.stringify(snap));
        this.byChain.set(chainId, snap);
        return snap;
      } catch (err) {
        await rm(base, { recursive: true, force: true });
        throw err;
      }
    });
  }

  /** A hardlink to a file of a lower layer: link to that file (same file system). */
  private async linkFromLowers(fsDir: string, parent: string | undefined, links: { path: string; target: string }[]): Promise<void> {
    const lowers = parent ? this.stack(parent).map((s) => this.fsPath(s)) : [];
    for (const l of links) {
      let source: string | undefined;
      for (const lower of lowers) {
        // Every ancestor must be a real directory of that layer: a symlinked
        // parent (evil -> /) would otherwise lead the link to a host file.
        if (!(await plainDirs(lower, ancestors(l.target)))) continue;
        const candidate = path.join(lower, l.target);
        const st = await lstat(candidate).catch(() => undefined);
        if (!st) continue;
        if (st.isFile()) source = candidate;
        break; // found (a file, or a whiteout/other that hides it)
      }
      if (!source) throw failedPrecondition(`hardlink "${l.path}" points to "${l.target}", which no layer below provides`);
      await link(source, path.join(fsDir, l.path));
    }
  }

  /**
   * Forgets the snapshot at once (a pull that asks after this unpacks the
   * layer anew, into a directory of its own) and moves its directory to the
   * trash, where its files are removed after the call.
   */
  async remove(chainId: string): Promise<void> {
    const s = this.byChain.get(chainId);
    if (!s) return;
    this.byChain.delete(chainId);
    await Promise.all([this.journal.delete(chainId), this.trash.discard(path.join(this.dir, String(s.id)))]);
  }
}

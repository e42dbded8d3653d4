// `skiff images import FILE` and `skiff images ls`: talk to a running daemon
// over its socket (the admin service and the CRI ImageService).

import * as grpc from "@grpc/grpc-js";
import path from "node:path";
import { loadAdmin, loadCri } from "../cri/client-proto.js";

function call<Res>(client: grpc.Client, method: string, req: unknown): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => void>)[method]!(
      req,
      {},
      (err, res) => (err ? reject(new Error(err.details || err.message)) : resolve(res)),
    ),
  );
}

export async function importImages(socket: string, file: string): Promise<string> {
  const Admin = loadAdmin().skiff.admin.v1.Admin;
  const client = new Admin(`unix://${socket}`, grpc.credentials.createInsecure());
  try {
    const res = await call<{ images: { id: string; repo_tags: string[] }[] }>(client, "ImportImages", { path: path.resolve(file) });
    return res.images.map((i) => `imported ${i.id}${i.repo_tags.length ? ` ${i.repo_tags.join(" ")}` : ""}\n`).join("");
  } finally {
    client.close();
  }
}

function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 && u > 0 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

/** A table like `crictl images`. */
export async function listImages(socket: string): Promise<string> {
  const ImageService = loadCri().runtime.v1.ImageService;
  const client = new ImageService(`unix://${socket}`, grpc.credentials.createInsecure());
  try {
    const res = await call<{ images: { id: string; repo_tags: string[]; size: string }[] }>(client, "ListImages", {});
    const rows = [["IMAGE", "TAG", "IMAGE ID", "SIZE"]];
    for (const img of res.images) {
      const tags = img.repo_tags.length ? img.repo_tags : ["<none>:<none>"];
      for (const t of tags) {
        const colon = t.lastIndexOf(":");
        rows.push([t.slice(0, colon), t.slice(colon + 1), img.id.replace(/^sha256:/, "").slice(0, 13), humanSize(Number(img.size))]);
      }
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("   ").trimEnd() + "\n").join("");
  } finally {
    client.close();
  }
}

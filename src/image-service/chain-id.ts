// Layer chain IDs (OCI image spec, "ChainID"): the identity of a stack of
// layers, so that images sharing their lower layers share their snapshots.
//   ChainID(L0) = DiffID(L0);  ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))

import { createHash } from "node:crypto";

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? diffId : `sha256:${createHash("sha256").update(`${prev} ${diffId}`).digest("hex")}`);
  }
  return out;
}

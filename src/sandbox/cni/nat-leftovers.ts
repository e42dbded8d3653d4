// When a pod's netns vanished before CNI DEL (a crash, a manual cleanup), the
// bridge plugin cannot see the pod's address and leaves its masquerade rule
// and chain behind. Plugins tag their rules with `id: "<container id>"`, so
// they can be found and removed.

import { execCommand, run } from "../../util/exec.js";

/** Rule specs (for iptables -D) and chains in `saved` that belong to `id`. Pure. */
export function leftoversOf(saved: string, id: string): { rules: string[][]; chains: string[] } {
  const tag = `id: \\"${id}\\"`;
  const rules: string[][] = [];
  const chains = new Set<string>();
  for (const line of saved.split("\n")) {
    if (!line.startsWith("-A ") || !line.includes(tag)) continue;
    const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!));
    rules.push(args.slice(1)); // drop "-A"
    const jump = args.indexOf("-j");
    const target = jump >= 0 ? args[jump + 1] : undefined;
    if (target?.startsWith("CNI-") && !target.startsWith("CNI-HOSTPORT")) chains.add(target);
  }
  return { rules, chains: [...chains] };
}

export async function removeNatLeftovers(id: string): Promise<number> {
  const saved = await run("iptables-save", ["-t", "nat"]);
  const { rules, chains } = leftoversOf(saved, id);
  for (const r of rules) await execCommand("iptables", ["-t", "nat", "-D", ...r]);
  for (const c of chains) {
    await execCommand("iptables", ["-t", "nat", "-F", c]);
    await execCommand("iptables", ["-t", "nat", "-X", c]);
  }
  return rules.length;
}

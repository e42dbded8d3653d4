// iptables chains that a run leaves on the host although nothing of it uses
// them any more: the kubelet's KUBE-* chains, and the CNI portmap plugin's
// CNI-HOSTPORT-* chains (made at the first pod with a hostPort and kept for
// the next, as on any node). A run notes which chains of a prefix exist before
// it and removes those it made, with the rules that jump to them.

import { spawnSync } from "node:child_process";

const COMMANDS = ["iptables", "ip6tables"];
const TABLES = ["nat", "filter", "mangle"];

/** The chains whose names start with `prefix`, per "command table". */
export function chainsNamed(prefix: string): Map<string, Set<string>> {
  const chains = new Map<string, Set<string>>();
  for (const cmd of COMMANDS) {
    for (const table of TABLES) {
      const rules = spawnSync(cmd, ["-w", "-t", table, "-S"], { encoding: "utf8" }).stdout ?? "";
      chains.set(`${cmd} ${table}`, new Set(rules.split("\n").flatMap((l) => (l.startsWith(`-N ${prefix}`) ? [l.slice(3)] : []))));
    }
  }
  return chains;
}

/** An iptables -S line's words, double-quoted ones (comments) whole. */
function ruleWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/**
 * Removes the chains named `prefix`* that were not in `before`, and the rules
 * that jump to them; returns one line per table saying what was removed or
 * what could not be.
 */
export function removeChainsMadeSince(prefix: string, before: Map<string, Set<string>>): string[] {
  const report: string[] = [];
  for (const [key, now] of chainsNamed(prefix)) {
    const [cmd, table] = key.split(" ") as [string, string];
    const made = [...now].filter((c) => !before.get(key)?.has(c));
    if (!made.length) continue;
    const rules = (spawnSync(cmd, ["-w", "-t", table, "-S"], { encoding: "utf8" }).stdout ?? "").split("\n");
    for (const line of rules) {
      const words = ruleWords(line);
      const jump = words[words.indexOf("-j") + 1];
      if (words[0] === "-A" && !made.includes(words[1]!) && jump && made.includes(jump)) spawnSync(cmd, ["-w", "-t", table, "-D", ...words.slice(1)]);
    }
    for (const c of made) spawnSync(cmd, ["-w", "-t", table, "-F", c]);
    for (const c of made) spawnSync(cmd, ["-w", "-t", table, "-X", c]);
    const left = made.filter((c) => chainsNamed(prefix).get(key)?.has(c));
    report.push(left.length ? `could not remove the ${cmd} ${table} chains ${left.join(", ")}` : `removed the ${cmd} ${table} chains ${made.join(", ")}`);
  }
  return report;
}

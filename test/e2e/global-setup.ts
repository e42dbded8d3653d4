// Runs once around the whole e2e suite: makes the run directory every fixture
// lives under, and afterwards fails the run if anything leaked (a process that
// still names the run dir, or a mount below it), cleaning it up so the machine
// is left as it was.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { TestProject } from "vitest/node";
import { chainsNamed, removeChainsMadeSince } from "./harness/iptables-chains.js";
import { mountsUnder } from "./harness/mounts.js";

async function processesUnder(dir: string): Promise<{ pid: number; cmd: string }[]> {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(dir)) found.push({ pid: Number(entry), cmd: cmd.replaceAll("\0", " ").trim() });
  }
  return found;
}


/** What the tests' pods may leave on the host: bridges skt*, NAT rules for 10.231.0.0/16, cgroups. */
function networkLeftovers(): string[] {
  const problems: string[] = [];
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
  for (const m of links.matchAll(/^\d+: (skt\d+)[:@]/gm)) {
    // Bridges are shared by a daemon's pods and outlive them, like cni0: not a leak, but removed.
    execFileSync("ip", ["link", "del", m[1]!]);
  }
  const rules = execFileSync("iptables-save", ["-t", "nat"], { encoding: "utf8" }).split("\n").filter((l) => l.includes("10.231."));
  for (const r of rules) problems.push(`iptables rule left behind: ${r}`);
  // cgroups of infra processes (skiff's default parent) and of the tests' pods
  for (const c of ["pids", "memory", "cpu", "unified"]) {
    for (const name of readdirSafe(`/sys/fs/cgroup/${c}`)) {
      if (name === "skiff" || name.startsWith("skiff-e2e-")) problems.push(`cgroup left behind: /sys/fs/cgroup/${c}/${name}`);
    }
  }
  return problems;
}

/**
 * crun 1.8 refuses hybrid cgroup hosts where cgroup2 holds a controller (here:
 * hugetlb). Mounting that controller as a v1 hierarchy frees it from cgroup2,
 * which lets the crun tests run instead of being skipped.
 */
function freeHybridControllers(): void {
  const controllers = readFileSyncSafe("/sys/fs/cgroup/unified/cgroup.controllers").split(/\s+/).filter(Boolean);
  for (const c of controllers) {
    const target = `/sys/fs/cgroup/${c}`;
    execFileSync("mkdir", ["-p", target]);
    execFileSync("mount", ["-t", "cgroup", "-o", c, "cgroup", target]);
  }
}

function readdirSafe(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

function readFileSyncSafe(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

export default async function setup(project: TestProject) {
  if (process.getuid?.() !== 0) throw new Error("the e2e suite needs root (namespaces, mounts, runc): run it with sudo");
  if (!existsSync(new URL("../../dist/bundle/skiff.mjs", import.meta.url))) throw new Error("dist/ is missing: run `npm run build` first");
  const runDir = await mkdtemp("/tmp/skiff-e2e-");
  await chmod(runDir, 0o711); // see fixtureDir
  project.provide("runDir", runDir);
  // Stays mounted afterwards: it is how crun can work on this host at all.
  freeHybridControllers();
  // The portmap plugin's shared chains, made by the first hostPort pod (the tests' or containerd's in bench/).
  const portmapChainsBefore = chainsNamed("CNI-HOSTPORT-");

  return async function teardown() {
    const problems: string[] = [];
    for (const p of await processesUnder(runDir)) {
      problems.push(`process left running: ${p.pid} ${p.cmd}`);
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    // children first, so that each unmount finds its mount point free
    for (const mp of (await mountsUnder(runDir)).sort((a, b) => b.length - a.length)) {
      problems.push(`mount left behind: ${mp}`);
      try {
        execFileSync("umount", ["-l", mp]);
      } catch {
        /* reported above */
      }
    }
    await rm(runDir, { recursive: true, force: true });
    problems.push(...networkLeftovers());
    // Not a leak (every pod's rules in them are gone, which networkLeftovers checks), but not there before.
    for (const line of removeChainsMadeSince("CNI-HOSTPORT-", portmapChainsBefore)) if (line.startsWith("could not")) problems.push(line);
    if (problems.length) throw new Error(`the e2e suite leaked:\n${problems.join("\n")}`);
  };
}

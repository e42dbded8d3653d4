// The images that cri-tools' critest (v1.28) and the crictl/kubelet scenarios
// pull, rebuilt offline under the same repository paths so that a local
// registry can stand in for registry.k8s.io and gcr.io as their mirror. They
// follow cri-tools' images/ Dockerfiles (busybox, users from USER, marker
// files) and keep what the specs rely on:
// - busybox is Debian's dynamically linked build, whose shell runs applets
//   through PATH as upstream's does (busybox-static runs them built in, so a
//   masked /bin/ls would still work), with applets as hard links as upstream
//   has them, plus pgrep and ipcs from this host (not in Debian's build);
// - nginx is Debian's binary (extracted from its .deb, never installed), so
//   `pidof nginx`, /var/run/nginx.pid and port 80 behave as upstream's;
// - httpd and nonewprivs are stand-ins: busybox httpd announcing Apache's
//   command line, and a setuid-root program printing its effective uid.
// Binaries come with the host libraries they link.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildImage, type BuiltImage, type ImageSpec, type LayerEntry } from "../../test/support/oci-image.js";

export interface LabImage {
  /** Repository path inside the registry (the same as upstream's). */
  repo: string;
  tags: string[];
  image: BuiltImage;
}

const E2E = "e2e-test-images";
const CRI_TOOLS = "k8s-staging-cri-tools";
const WWW_DATA = "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin";
const WWW_DATA_GROUP = "www-data:x:33:";
const DIRS = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "usr/lib", "usr/lib/x86_64-linux-gnu", "lib64", "etc", "root", "home", "tmp", "var", "var/run", "proc", "sys", "dev"];

/** Runs fn in a scratch directory that is removed afterwards. */
function inScratch<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), "skiff-lab-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A file of a Debian package, extracted from its .deb (apt-get download: nothing is installed). */
function fromDeb(pkg: string, file: string): Buffer {
  return inScratch((dir) => {
    execFileSync("apt-get", ["download", "-q", pkg], { cwd: dir, stdio: "ignore" });
    const deb = execFileSync("sh", ["-c", `ls ${pkg}_*.deb`], { cwd: dir, encoding: "utf8" }).trim();
    execFileSync("dpkg-deb", ["-x", deb, "x"], { cwd: dir });
    return readFileSync(path.join(dir, "x", file));
  });
}

function hostBinary(name: string): Buffer {
  return readFileSync(execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim());
}

/** Binaries at their paths, and the shared libraries they link (from this host), each library once. */
function binariesWithLibs(binaries: { path: string; content: Buffer }[]): LayerEntry[] {
  const entries: LayerEntry[] = [];
  const libs = new Set<string>();
  inScratch((dir) => {
    for (const b of binaries) {
      const probe = path.join(dir, path.basename(b.path));
      writeFileSync(probe, b.content, { mode: 0o755 });
      for (const line of execFileSync("ldd", [probe], { encoding: "utf8" }).split("\n")) {
        const lib = /(\/\S+) \(0x/.exec(line)?.[1];
        if (lib) libs.add(lib);
      }
      entries.push({ type: "file", path: b.path, content: b.content, mode: 0o755 });
    }
  });
  for (const lib of [...libs].sort()) {
    const real = execFileSync("readlink", ["-f", lib], { encoding: "utf8" }).trim();
    const dest = lib.startsWith("/lib64/") ? lib : `/usr/lib/x86_64-linux-gnu/${path.basename(lib)}`;
    entries.push({ type: "file", path: dest, content: readFileSync(real), mode: 0o755 });
  }
  return entries;
}

let busyboxLayer: LayerEntry[] | undefined;

/** Debian's busybox with every applet a hard link to it, pgrep and ipcs, and their libraries. */
function busyboxBase(): LayerEntry[] {
  if (busyboxLayer) return busyboxLayer;
  const busybox = fromDeb("busybox", "bin/busybox");
  const extra = ["usr/bin/pgrep", "usr/bin/ipcs"];
  const applets = inScratch((dir) => {
    const bin = path.join(dir, "busybox");
    writeFileSync(bin, busybox, { mode: 0o755 });
    return execFileSync(bin, ["--list-full"], { encoding: "utf8" }).split("\n");
  }).filter((a) => a && a !== "bin/busybox" && !extra.includes(a));
  busyboxLayer = [
    ...DIRS.map((d) => ({ type: "dir", path: d, mode: d === "tmp" ? 0o1777 : 0o755 }) as LayerEntry),
    ...binariesWithLibs([{ path: "/bin/busybox", content: busybox }, ...extra.map((p) => ({ path: `/${p}`, content: hostBinary(path.basename(p)) }))]),
    ...applets.map((a) => ({ type: "hardlink", path: a, target: "bin/busybox" }) as LayerEntry),
  ];
  return busyboxLayer;
}

function accounts(users: string[] = [], groups: string[] = []): LayerEntry[] {
  const passwd = ["root:x:0:0:root:/root:/bin/sh", "nobody:x:65534:65534:nobody:/nonexistent:/bin/false", WWW_DATA, ...users];
  const group = ["root:x:0:", "nogroup:x:65534:", WWW_DATA_GROUP, ...groups];
  return [
    { type: "file", path: "etc/passwd", content: `${passwd.join("\n")}\n` },
    { type: "file", path: "etc/group", content: `${group.join("\n")}\n` },
  ];
}

function nginxLayer(port: number): LayerEntry[] {
  const conf = [
    "user root;",
    "worker_processes 1;",
    "pid /var/run/nginx.pid;",
    "daemon off;",
    "error_log stderr;",
    "events { worker_connections 64; }",
    "http {",
    "  access_log off;",
    `  server { listen ${port}; root /usr/share/nginx/html; index index.html; }`,
    "}",
  ].join("\n");
  return [
    ...["var/lib/nginx", "var/log/nginx", "etc/nginx", "usr/share/nginx", "usr/share/nginx/html"].map((d) => ({ type: "dir", path: d }) as LayerEntry),
    ...binariesWithLibs([{ path: "/usr/sbin/nginx", content: fromDeb("nginx", "usr/sbin/nginx") }]),
    { type: "file", path: "etc/nginx/nginx.conf", content: `${conf}\n` },
    { type: "file", path: "usr/share/nginx/html/index.html", content: "<h1>Welcome to nginx!</h1>\n" },
  ];
}

/** Kubernetes' nonewprivs test program: setuid root, prints its effective uid. */
function nonewprivsLayer(): LayerEntry[] {
  const program = inScratch((dir) => {
    writeFileSync(path.join(dir, "nnp.c"), '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("Effective uid: %d\\n", geteuid()); return 0; }\n');
    execFileSync("cc", ["-static", "-O2", "-o", "nnp", "nnp.c"], { cwd: dir });
    return readFileSync(path.join(dir, "nnp"));
  });
  return [
    { type: "dir", path: "usr/local" },
    { type: "dir", path: "usr/local/bin" },
    { type: "file", path: "usr/local/bin/nnp", content: program, mode: 0o4755 },
  ];
}

function marker(name: string): LayerEntry[] {
  return [{ type: "file", path: name, content: `${name}\n` }];
}

async function image(spec: Omit<ImageSpec, "base"> = {}): Promise<BuiltImage> {
  return buildImage({
    compression: "gzip",
    ...spec,
    base: false,
    layers: [[...busyboxBase(), ...accounts(spec.users, spec.groups)], ...(spec.layers ?? [])],
  });
}

export async function labImages(): Promise<LabImage[]> {
  const nginx = (port: number) => image({ layers: [nginxLayer(port)], config: { Cmd: ["nginx"], ExposedPorts: { [`${port}/tcp`]: {} } } });
  const user = (u: string) => image({ config: { User: u } });
  const httpd = image({
    layers: [[{ type: "dir", path: "htdocs" }, { type: "file", path: "htdocs/index.html", content: "<html><body><h1>It works!</h1></body></html>\n" }]],
    config: { Cmd: ["sh", "-c", "echo \"AH00094: Command line: 'httpd -D FOREGROUND'\" >&2; exec httpd -f -p 80 -h /htdocs"], ExposedPorts: { "80/tcp": {} } },
  });
  const tags = image({ layers: [marker("test-image-tags")] });
  return [
    { repo: `${E2E}/busybox`, tags: ["1.29-2", "1.29-4", "1.36.1-1"], image: await image({ config: { Cmd: ["sh"] } }) },
    { repo: `${E2E}/nginx`, tags: ["1.14-2", "1.14-4"], image: await nginx(80) },
    { repo: `${E2E}/httpd`, tags: ["2.4.39-4"], image: await httpd },
    { repo: `${E2E}/nonewprivs`, tags: ["1.3"], image: await image({ layers: [nonewprivsLayer()], config: { Cmd: ["/usr/local/bin/nnp"] } }) },
    { repo: `${CRI_TOOLS}/hostnet-nginx-amd64`, tags: ["latest"], image: await nginx(12003) },
    { repo: `${CRI_TOOLS}/test-image-latest`, tags: ["latest"], image: await image({ layers: [marker("test-image-latest")] }) },
    { repo: `${CRI_TOOLS}/test-image-tag`, tags: ["test", "all"], image: await image({ layers: [marker("test-image-tag")] }) },
    ...(await Promise.all([1, 2, 3].map(async (n) => ({ repo: `${CRI_TOOLS}/test-image-${n}`, tags: ["latest"], image: await image({ layers: [marker(`test-image-${n}`)] }) })))),
    { repo: `${CRI_TOOLS}/test-image-tags`, tags: ["1", "2", "3"], image: await tags },
    { repo: `${CRI_TOOLS}/test-image-user-uid`, tags: ["latest"], image: await user("1002") },
    { repo: `${CRI_TOOLS}/test-image-user-username`, tags: ["latest"], image: await user("www-data") },
    { repo: `${CRI_TOOLS}/test-image-user-uid-group`, tags: ["latest"], image: await user("1003:1003") },
    { repo: `${CRI_TOOLS}/test-image-user-username-group`, tags: ["latest"], image: await user("www-data:www-data") },
    {
      repo: `${CRI_TOOLS}/test-image-predefined-group`,
      tags: ["latest"],
      image: await image({
        users: ["default-user:x:1000:1000::/home/default-user:/bin/sh"],
        groups: ["default-user:x:1000:", "group-defined-in-image:x:50000:default-user"],
        config: { User: "1000" },
      }),
    },
  ];
}

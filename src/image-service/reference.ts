// Image references, parsed and normalised the way Docker and containerd do:
//   busybox                      -> docker.io/library/busybox:latest
//   host:5000/a/b:tag            -> host:5000/a/b:tag
//   name@sha256:<64 hex>         -> docker.io/library/name@sha256:...
//   name:tag@sha256:<64 hex>     -> keeps both; the digest is what is pulled
// Pure; invalid input throws an invalid-argument SkiffError naming the reference.

import { invalidArgument } from "../errors.js";

export interface ImageReference {
  /** Registry host, with port if any: "docker.io", "127.0.0.1:5000". */
  domain: string;
  /** Repository path inside the registry: "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DOMAIN = "index.docker.io";
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
const MAX_NAME = 255;

function isDomain(part: string): boolean {
  return part === "localhost" || part.includes(".") || part.includes(":") || part.startsWith("[");
}

function validDomain(domain: string): boolean {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith("[")) {
    const end = domain.indexOf("]");
    if (end < 0) return false;
    host = domain.slice(1, end);
    const rest = domain.slice(end + 1);
    if (rest && !rest.startsWith(":")) return false;
    port = rest ? rest.slice(1) : undefined;
    if (!/^[0-9a-fA-F:.]+$/.test(host)) return false;
  } else {
    const colon = domain.lastIndexOf(":");
    if (colon >= 0) {
      host = domain.slice(0, colon);
      port = domain.slice(colon + 1);
    }
    if (!host.split(".").every((c) => DOMAIN_COMPONENT.test(c))) return false;
  }
  return port === undefined || /^\d{1,5}$/.test(port);
}

export function parseReference(input: string): ImageReference {
  const bad = (why: string) => invalidArgument(`invalid image reference "${input}": ${why}`);
  if (!input) throw bad("it is empty");
  if (input.length > 512 || /\s/.test(input)) throw bad("it is too long or contains white space");

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a sha256 digest (sha256: followed by 64 lowercase hex digits)`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  if (!rest) throw bad("the repository name is missing");

  const parts = rest.split("/");
  let domain = DEFAULT_DOMAIN;
  if (parts.length > 1 && isDomain(parts[0]!)) {
    domain = parts.shift()!;
    if (!validDomain(domain)) throw bad(`"${domain}" is not a valid registry host`);
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  for (const c of parts) {
    if (!PATH_COMPONENT.test(c)) {
      throw bad(/[A-Z]/.test(c) ? "repository names must be lowercase" : `"${c}" is not a valid repository name component`);
    }
  }
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift("library");
  const path = parts.join("/");
  if (domain.length + 1 + path.length > MAX_NAME) throw bad(`the repository name is longer than ${MAX_NAME} characters`);
  if (!tag && !digest) tag = "latest";
  return { domain, path, tag, digest };
}

/** "domain/path", the repository name used in repo_tags and repo_digests. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full normalised form: repository[:tag][@digest]. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** "repository:tag" when the reference has a tag. */
export function tagReference(ref: ImageReference): string | undefined {
  return ref.tag ? `${repositoryName(ref)}:${ref.tag}` : undefined;
}

export function digestReference(ref: ImageReference, digest: string): string {
  return `${repositoryName(ref)}@${digest}`;
}

// Small request checks shared by handlers; failures are INVALID_ARGUMENT.

import { invalidArgument } from "../errors.js";

export function requireImageName(spec: { image?: string } | null | undefined, rpc: string): string {
  const name = spec?.image?.trim();
  if (!name) throw invalidArgument(`${rpc}: image.image must name an image (a reference such as busybox:1.36, or an image id)`);
  return name;
}

/** Nanoseconds since the epoch as the decimal string int64 fields use. */
export function nowNanos(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

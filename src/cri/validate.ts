// Small request checks shared by handlers; failures are INVALID_ARGUMENT.

import { invalidArgument } from "../errors.js";

export function requireImageName(spec: { image?: string } | null | undefined, rpc: string): string {
  const name = spec?.image?.trim();
  if (!name) throw invalidArgument(`${rpc}: image.image must name an image (a reference such as busybox:1.36, or an image id)`);
  return name;
}

/** A required id field; empty is INVALID_ARGUMENT naming the RPC and the field. */
export function requireField(value: string, rpc: string, field: string): string {
  if (!value) throw invalidArgument(`${rpc}: ${field} is required`);
  return value;
}

// Maps domain errors to gRPC statuses. Anything that is not a SkiffError is a
// bug or an unexpected system failure: INTERNAL, with the message kept so that
// the operator can see what failed.

import { SkiffError, errorMessage, type ErrorKind } from "../errors.js";
import { shorten } from "../util/shorten.js";

/** gRPC status codes (grpc's doc/statuscodes.md). */
export enum Status {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/**
 * Longest status message sent: it travels percent-encoded in the trailers,
 * and clients refuse header lists past a few KiB to 16 KiB.
 */
export const MAX_STATUS_MESSAGE = 2048;

const CODES: Record<ErrorKind, Status> = {
  "invalid-argument": Status.INVALID_ARGUMENT,
  "not-found": Status.NOT_FOUND,
  "already-exists": Status.ALREADY_EXISTS,
  "failed-precondition": Status.FAILED_PRECONDITION,
  "deadline-exceeded": Status.DEADLINE_EXCEEDED,
  unavailable: Status.UNAVAILABLE,
  "permission-denied": Status.PERMISSION_DENIED,
  "resource-exhausted": Status.RESOURCE_EXHAUSTED,
  unimplemented: Status.UNIMPLEMENTED,
  internal: Status.INTERNAL,
};

export function toServiceError(err: unknown): { code: Status; message: string } {
  const code = err instanceof SkiffError ? CODES[err.kind] : Status.INTERNAL;
  return { code, message: shorten(errorMessage(err), MAX_STATUS_MESSAGE) };
}

export function codeName(code: Status): string {
  return Status[code] ?? String(code);
}

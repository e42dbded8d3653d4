// Maps domain errors to gRPC statuses. Anything that is not a SkiffError is a
// bug or an unexpected system failure: INTERNAL, with the message kept so that
// the operator can see what failed.

import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { SkiffError, errorMessage, type ErrorKind } from "../errors.js";
import { shorten } from "../util/shorten.js";

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

export function toServiceError(err: unknown): Partial<ServiceError> & { code: Status } {
  const code = err instanceof SkiffError ? CODES[err.kind] : Status.INTERNAL;
  const message = shorten(errorMessage(err), MAX_STATUS_MESSAGE);
  return { code, details: message, message };
}

export function codeName(code: Status): string {
  return Status[code] ?? String(code);
}

// Maps domain errors to gRPC statuses. Anything that is not a SkiffError is a
// bug or an unexpected system failure: INTERNAL, with the message kept so that
// the operator can see what failed.

import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { SkiffError, errorMessage, type ErrorKind } from "../errors.js";

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
  if (err instanceof SkiffError) return { code: CODES[err.kind], details: err.message, message: err.message };
  return { code: Status.INTERNAL, details: errorMessage(err), message: errorMessage(err) };
}

export function codeName(code: Status): string {
  return Status[code] ?? String(code);
}

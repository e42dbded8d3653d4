// Domain errors. Modules below src/cri throw these; the CRI edge maps each kind
// to its gRPC status code (src/cri/grpc-errors.ts). The message must tell a person
// what to do, so it names the object and the value that was wrong.

export type ErrorKind =
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "failed-precondition"
  | "deadline-exceeded"
  | "unavailable"
  | "permission-denied"
  | "resource-exhausted"
  | "unimplemented"
  | "internal";

export class SkiffError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SkiffError";
  }
}

export const invalidArgument = (msg: string) => new SkiffError("invalid-argument", msg);
export const notFound = (msg: string) => new SkiffError("not-found", msg);
export const alreadyExists = (msg: string) => new SkiffError("already-exists", msg);
export const failedPrecondition = (msg: string) => new SkiffError("failed-precondition", msg);
export const deadlineExceeded = (msg: string) => new SkiffError("deadline-exceeded", msg);
export const resourceExhausted = (msg: string) => new SkiffError("resource-exhausted", msg);
export const unavailable = (msg: string, cause?: unknown) => new SkiffError("unavailable", msg, { cause });

/** Message of any thrown value, for logs and wrapped errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

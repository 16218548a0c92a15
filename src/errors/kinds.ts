/**
 * Error kinds used inside Switchyard. A kind says what went wrong in terms a caller can act
 * on; the gRPC code is chosen from it only at the transport edge (see status.ts).
 */
export const ErrorKind = {
  NotFound: 'not-found',
  AlreadyExists: 'already-exists',
  InvalidArgument: 'invalid-argument',
  FailedPrecondition: 'failed-precondition',
  PermissionDenied: 'permission-denied',
  Unavailable: 'unavailable',
  Unimplemented: 'unimplemented',
  ResourceExhausted: 'resource-exhausted',
  DeadlineExceeded: 'deadline-exceeded',
  Cancelled: 'cancelled',
  Internal: 'internal',
  Unknown: 'unknown',
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

export class ShimError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShimError';
    this.kind = kind;
  }
}

const make = (kind: ErrorKind) => (message: string, cause?: unknown) =>
  new ShimError(kind, message, cause === undefined ? undefined : { cause });

export const notFound = make(ErrorKind.NotFound);
export const alreadyExists = make(ErrorKind.AlreadyExists);
export const invalidArgument = make(ErrorKind.InvalidArgument);
export const failedPrecondition = make(ErrorKind.FailedPrecondition);
export const permissionDenied = make(ErrorKind.PermissionDenied);
export const unavailable = make(ErrorKind.Unavailable);
export const unimplemented = make(ErrorKind.Unimplemented);
export const resourceExhausted = make(ErrorKind.ResourceExhausted);
export const deadlineExceeded = make(ErrorKind.DeadlineExceeded);
export const cancelled = make(ErrorKind.Cancelled);
export const internal = make(ErrorKind.Internal);

export function isKind(err: unknown, kind: ErrorKind): boolean {
  return err instanceof ShimError && err.kind === kind;
}

/** The message of err and of every cause under it, joined: what an operator needs in one line. */
export function describe(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined;
  }
  return parts.join(': ');
}

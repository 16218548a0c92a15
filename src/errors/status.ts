import { ErrorKind, ShimError } from './kinds.js';

/** gRPC status codes, as numbered on the wire by both gRPC and ttrpc. */
export const Code = {
  OK: 0,
  Cancelled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export interface Status {
  code: number;
  message: string;
}

const kindToCode: Record<ErrorKind, Code> = {
  [ErrorKind.NotFound]: Code.NotFound,
  [ErrorKind.AlreadyExists]: Code.AlreadyExists,
  [ErrorKind.InvalidArgument]: Code.InvalidArgument,
  [ErrorKind.FailedPrecondition]: Code.FailedPrecondition,
  [ErrorKind.PermissionDenied]: Code.PermissionDenied,
  [ErrorKind.Unavailable]: Code.Unavailable,
  [ErrorKind.Unimplemented]: Code.Unimplemented,
  [ErrorKind.ResourceExhausted]: Code.ResourceExhausted,
  [ErrorKind.DeadlineExceeded]: Code.DeadlineExceeded,
  [ErrorKind.Cancelled]: Code.Cancelled,
  [ErrorKind.Internal]: Code.Internal,
  [ErrorKind.Unknown]: Code.Unknown,
};

const codeToKind = new Map<number, ErrorKind>(
  Object.entries(kindToCode).map(([kind, code]) => [code, kind as ErrorKind]),
);

/**
 * An error that already carries a wire status (a reply relayed from another shim, or a
 * client-side failure): toStatus passes it through untouched.
 */
export class StatusError extends ShimError {
  readonly code: number;
  constructor(code: number, message: string, options?: { cause?: unknown }) {
    super(codeToKind.get(code) ?? ErrorKind.Unknown, message, options);
    this.name = 'StatusError';
    this.code = code;
  }
}

/**
 * The one place an error becomes a wire status. Anything that is not a ShimError is a bug
 * on our side, so it is reported as Internal rather than the uninformative Unknown.
 */
export function toStatus(err: unknown): Status {
  if (err instanceof StatusError) return { code: err.code, message: err.message };
  if (err instanceof ShimError) return { code: kindToCode[err.kind], message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: Code.Internal, message: message || 'internal error' };
}

/** The error a client raises for a non-OK status it received. */
export function fromStatus(status: Status): StatusError {
  return new StatusError(status.code, status.message);
}

export function codeName(code: number): string {
  for (const [name, value] of Object.entries(Code)) if (value === code) return name;
  return `Code(${code})`;
}

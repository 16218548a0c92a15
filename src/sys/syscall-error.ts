import os from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(os.constants.errno)) {
  // Aliases share a number (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK): keep the first,
  // which is the name strerror and Go's syscall package use.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** 'ECHILD' for 10; a made-up but stable name for numbers this platform does not list. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `ERRNO_${errno}`;
}

/** The number behind a name such as 'EAGAIN', for the few places that fabricate an error. */
export function errnoOf(name: keyof typeof os.constants.errno): number {
  return os.constants.errno[name];
}

/**
 * A failed system call. `errno` is the kernel's positive number (10), unlike Node's own
 * SystemError whose errno is negated; compare on `code` ('ECHILD'), which both share.
 */
export class SyscallError extends Error {
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;

  constructor(syscall: string, errno: number, description?: string, options?: { cause?: unknown }) {
    const code = errnoName(errno);
    super(`${syscall}: ${code}${description ? ` (${description})` : ''}`, options);
    this.name = 'SyscallError';
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
  }
}

export function isSyscallError(err: unknown, code?: string): err is SyscallError {
  return err instanceof SyscallError && (code === undefined || err.code === code);
}

/**
 * The fds one process's stdio owns, each closed exactly once. Every open here is
 * non-blocking: a plain open of a FIFO with no peer would block Node's only thread (or a
 * thread-pool thread) until the peer comes, which for a client that never comes is forever.
 */
import fs from 'node:fs';
import { internal, invalidArgument, permissionDenied, resourceExhausted, type ShimError } from '../errors/index.js';

const { O_NONBLOCK, O_NOCTTY } = fs.constants;

export class FdSet {
  private readonly fds = new Set<number>();

  /**
   * fs.openSync with O_NONBLOCK|O_NOCTTY added (libuv adds O_CLOEXEC, so no concurrent
   * spawn inherits it). `what` names the stream in errors: 'stdout fifo'.
   */
  open(what: string, file: string, flags: number, mode?: number): number {
    let fd: number;
    try {
      // O_NOCTTY: a tty path must not become the daemon's controlling terminal.
      fd = fs.openSync(file, flags | O_NONBLOCK | O_NOCTTY, mode);
    } catch (err) {
      throw openError(what, file, err);
    }
    this.fds.add(fd);
    return fd;
  }

  adopt(...fds: number[]): void {
    for (const fd of fds) this.fds.add(fd);
  }

  has(fd: number): boolean {
    return this.fds.has(fd);
  }

  /** Close fd if this set still owns it; unknown or already closed fds are ignored. */
  close(fd: number | undefined): void {
    if (fd === undefined || !this.fds.delete(fd)) return;
    try {
      fs.closeSync(fd);
    } catch {
      // EBADF cannot happen for an fd we own; EINTR/EIO on close still frees the fd.
    }
  }

  closeAll(): void {
    for (const fd of [...this.fds]) this.close(fd);
  }

  get size(): number {
    return this.fds.size;
  }
}

/** A failed fs call on a client-supplied path, as the ShimError kind a caller can act on. */
export function openError(what: string, file: string, err: unknown, verb = 'open'): ShimError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const msg = `cannot ${verb} ${what} ${file}: ${code}`;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return permissionDenied(msg, err);
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOMEM':
    case 'ENOSPC':
      return resourceExhausted(msg, err);
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENXIO':
    case 'ELOOP':
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return invalidArgument(msg, err);
    default:
      return internal(msg, err);
  }
}

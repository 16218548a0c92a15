/** File descriptor calls Node lacks. Closing stays with fs.closeSync. */
import fs from 'node:fs';
import { lastError, libc } from './libc.js';

const F_DUPFD_CLOEXEC = 1030;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = fs.constants.O_NONBLOCK;
// fs.constants omits O_CLOEXEC; this is its value on x86_64 and arm64 (asm-generic).
export const O_CLOEXEC = 0o2000000;

/**
 * A real OS pipe, both ends close-on-exec: [read, write]. Containers get these as stdio
 * because Node's stdio 'pipe' is a socketpair, and a container that opens /dev/stdout on
 * a socket fails with ENXIO. Close-on-exec keeps every other child we spawn (runc, a
 * parallel exec) from inheriting an end and holding the pipe open past the container;
 * the end handed to a child via spawn's stdio array is dup2'ed there, which clears the flag.
 */
export function pipe2Cloexec(): [read: number, write: number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(fds, O_CLOEXEC) < 0) throw lastError('pipe2');
  return [fds[0]!, fds[1]!];
}

/**
 * Set or clear O_NONBLOCK. The flag lives on the open file description, so it changes
 * every process sharing it: clear it on an end before a child inherits it.
 */
export function setNonBlocking(fd: number, on: boolean): void {
  const c = libc();
  const flags = c.fcntl(fd, F_GETFL);
  if (flags < 0) throw lastError('fcntl');
  const next = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (next !== flags && c.fcntl(fd, F_SETFL, 'int', next) < 0) throw lastError('fcntl');
}

export function isNonBlocking(fd: number): boolean {
  const flags = libc().fcntl(fd, F_GETFL);
  if (flags < 0) throw lastError('fcntl');
  return (flags & O_NONBLOCK) !== 0;
}

/** dup(2), close-on-exec from birth so no concurrent spawn can inherit it. */
export function dupCloexec(fd: number): number {
  const r = libc().fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0);
  if (r < 0) throw lastError('fcntl');
  return r;
}

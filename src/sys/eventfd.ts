/**
 * eventfd(2), which Node lacks: the counter the kernel bumps for cgroup v1 notifications
 * (memory.oom_control through cgroup.event_control). Wait for it with waitReadable, then
 * read it here: the fd is non-blocking, so no read ever parks a thread.
 */
import fs from 'node:fs';
import { lastError, libc } from './libc.js';
import { O_CLOEXEC } from './fds.js';

// EFD_* share their values with O_*: asm-generic, the same on x86_64 and arm64.
const EFD_CLOEXEC = O_CLOEXEC;
const EFD_NONBLOCK = fs.constants.O_NONBLOCK;

type EventfdFn = (initval: number, flags: number) => number;
let eventfdFn: EventfdFn | undefined;

function bound(): EventfdFn {
  // libc.ts declares the calls shared across src/sys; this one only this module needs,
  // so it binds its own handle to the same, already loaded, libc.
  eventfdFn ??= libc().koffi.load('libc.so.6').func('int eventfd(unsigned int initval, int flags)') as EventfdFn;
  return eventfdFn;
}

/** A new eventfd, close-on-exec and non-blocking. Close it with fs.closeSync. */
export function eventfd(initial = 0): number {
  const fd = bound()(initial, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw lastError('eventfd');
  return fd;
}

/**
 * The counter, which the read resets to 0; null when it is 0 already (EAGAIN), as after
 * a spurious wake-up.
 */
export function readEventfd(fd: number): bigint | null {
  const buf = Buffer.alloc(8);
  try {
    fs.readSync(fd, buf, 0, 8, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return null;
    throw err;
  }
  return buf.readBigUInt64LE(0);
}

/** Adds n to the counter (what the kernel does on an event); tests use it to fake one. */
export function writeEventfd(fd: number, n: bigint | number = 1n): void {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt(n), 0);
  fs.writeSync(fd, buf, 0, 8, null);
}

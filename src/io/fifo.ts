/**
 * How the container's ends of the client's FIFOs are opened (docs/protocol.md §5.2). The client
 * (ctr, CRI) has made them and opened its own side before Create: stdin for writing,
 * stdout/stderr for reading.
 */
import fs from 'node:fs';
import { setNonBlocking } from '../sys/fds.js';
import type { FdSet } from './fd-set.js';

const { O_RDONLY, O_WRONLY, O_RDWR } = fs.constants;

export interface StdinFifo {
  /** The container's stdin, blocking. */
  read: number;
  /** Ours alone: while it is open the container never sees EOF (CloseIO closes it). */
  keepAlive: number;
}

/**
 * stdin: read end for the container, plus a writer of our own. A FIFO reads EOF whenever
 * it has no writer: without ours, the container could see EOF before the client's own
 * (asynchronous) open completes, or between two `ctr attach`es. As with the runc shim,
 * EOF comes only after CloseIO and the client closing its end.
 */
export function openStdinFifo(fds: FdSet, file: string): StdinFifo {
  // O_RDONLY never blocks with O_NONBLOCK (FdSet adds it), writer or not.
  const read = fds.open('stdin fifo', file, O_RDONLY);
  // Now that a reader exists, a non-blocking O_WRONLY cannot fail with ENXIO. We never
  // write to it, so it may stay non-blocking; it shares nothing with the container's end.
  const keepAlive = fds.open('stdin fifo', file, O_WRONLY);
  // The container's end: a process reading a non-blocking stdin gets EAGAIN, not data.
  setNonBlocking(read, false);
  return { read, keepAlive };
}

/**
 * stdout/stderr: opened read-write and given to the container as is. On Linux O_RDWR on a
 * FIFO never blocks, and the container itself then holds a reader, so a write never fails
 * with EPIPE/SIGPIPE while the client is away (containerd restarting, ctr killed). The
 * container writes straight into the FIFO: no copy in Node that could lose the tail.
 */
export function openOutputFifo(fds: FdSet, what: 'stdout' | 'stderr', file: string): number {
  const fd = fds.open(`${what} fifo`, file, O_RDWR);
  setNonBlocking(fd, false);
  return fd;
}

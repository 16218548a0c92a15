import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { failedPrecondition } from '../errors/index.js';
import { pipe2Cloexec, setNonBlocking } from '../sys/fds.js';
import type { StdioSpec } from './uri.js';

/**
 * The container's stdio. The container gets the FIFOs themselves (or real pipes for a
 * logging binary), never a socketpair, and writes into them directly: nothing is copied in
 * Node, so nothing is lost or cut short when the process exits.
 */
export interface ProcessIO {
  readonly stdio: [number, number, number];
  /** The runtime has handed the fds on: drop the copies only the container needs. */
  afterStart(): void;
  /** CloseIO: drop our keep-alive stdin writer; the container sees EOF once the client closes too. */
  closeStdin(): void;
  /** The process is gone: release everything. */
  close(): Promise<void>;
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, O_APPEND, O_CREAT } = fs.constants;

class FdSet {
  private readonly fds = new Set<number>();
  open(file: string, flags: number, mode?: number): number {
    const fd = fs.openSync(file, flags, mode);
    this.fds.add(fd);
    return fd;
  }
  adopt(fd: number): number {
    this.fds.add(fd);
    return fd;
  }
  close(fd: number | undefined): void {
    if (fd === undefined || !this.fds.delete(fd)) return;
    try {
      fs.closeSync(fd);
    } catch {
      // already gone
    }
  }
  closeAll(): void {
    for (const fd of [...this.fds]) this.close(fd);
  }
}

function openStdin(fds: FdSet, fifo: string): { read: number; keepAlive: number } {
  // Non-blocking open: a blocking one would hang Node's only thread until a writer comes.
  const read = fds.open(fifo, O_RDONLY | O_NONBLOCK);
  // A container reading a non-blocking fd would get EAGAIN instead of waiting.
  setNonBlocking(read, false);
  // Our own writer keeps the container from seeing EOF before the client means it (CloseIO).
  const keepAlive = fds.open(fifo, O_WRONLY | O_NONBLOCK);
  return { read, keepAlive };
}

export async function openProcessIO(spec: StdioSpec, opts: { containerId: string; namespace: string; logger?: Logger }): Promise<ProcessIO> {
  const fds = new FdSet();
  try {
    switch (spec.kind) {
      case 'null': {
        const n = fds.open('/dev/null', O_RDWR);
        return simple(fds, [n, n, n], undefined);
      }
      case 'fifo': {
        const devnull = () => fds.open('/dev/null', O_RDWR);
        const stdin = spec.stdin ? openStdin(fds, spec.stdin) : undefined;
        // O_RDWR never blocks on a FIFO and keeps a reader on it, so a container never
        // dies of SIGPIPE while containerd is away; the runc shim holds both ends too.
        const out = spec.stdout ? fds.open(spec.stdout, O_RDWR) : devnull();
        const err = spec.stderr ? fds.open(spec.stderr, O_RDWR) : spec.terminal ? out : devnull();
        return simple(fds, [stdin?.read ?? devnull(), out, err], stdin?.keepAlive);
      }
      case 'file': {
        fs.mkdirSync(path.dirname(spec.path), { recursive: true });
        const f = fds.open(spec.path, O_WRONLY | O_APPEND | O_CREAT, 0o644);
        const stdin = spec.stdin ? openStdin(fds, spec.stdin) : undefined;
        return simple(fds, [stdin?.read ?? fds.open('/dev/null', O_RDONLY), f, f], stdin?.keepAlive);
      }
      case 'binary':
        return await binaryIO(fds, spec, opts);
    }
  } catch (err) {
    fds.closeAll();
    throw failedPrecondition(`open stdio for ${opts.containerId}: ${(err as Error).message}`, err);
  }
}

function simple(fds: FdSet, stdio: [number, number, number], keepAlive: number | undefined): ProcessIO {
  return {
    stdio,
    // The container holds its own copies now; ours would keep the client from seeing EOF.
    afterStart: () => {
      for (const fd of new Set(stdio)) fds.close(fd);
    },
    closeStdin: () => fds.close(keepAlive),
    close: async () => fds.closeAll(),
  };
}

const LOGGER_STOP_MS = 12_000;

async function binaryIO(
  fds: FdSet,
  spec: Extract<StdioSpec, { kind: 'binary' }>,
  opts: { containerId: string; namespace: string; logger?: Logger },
): Promise<ProcessIO> {
  const [outR, outW] = pipe2Cloexec().map((fd) => fds.adopt(fd)) as [number, number];
  const [errR, errW] = pipe2Cloexec().map((fd) => fds.adopt(fd)) as [number, number];
  const child: ChildProcess = spawn(spec.path, spec.args, {
    // Exactly what containerd's logging helpers expect: fd 3 stdout, fd 4 stderr, fd 5 ready.
    stdio: ['ignore', 'ignore', 'ignore', outR, errR, 'pipe'],
    env: { CONTAINER_ID: opts.containerId, CONTAINER_NAMESPACE: opts.namespace },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const ready = (child.stdio as unknown as NodeJS.ReadableStream[])[5]!;
    const timer = setTimeout(() => reject(new Error(`logging binary ${spec.path} did not signal ready`)), 10_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    ready.once('data', done);
    ready.once('end', done);
    ready.once('close', done);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  (child.stdio as unknown as { destroy(): void }[])[5]!.destroy();
  // The logger holds the read ends now.
  fds.close(outR);
  fds.close(errR);
  const stdin = spec.stdin ? openStdin(fds, spec.stdin) : undefined;
  const stdio: [number, number, number] = [stdin?.read ?? fds.open('/dev/null', O_RDONLY), outW, errW];
  return {
    stdio,
    afterStart: () => {
      for (const fd of new Set(stdio)) fds.close(fd);
    },
    closeStdin: () => fds.close(stdin?.keepAlive),
    close: async () => {
      fds.closeAll();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), LOGGER_STOP_MS);
      await exited;
      clearTimeout(timer);
      opts.logger?.debug({ binary: spec.path }, 'logging binary stopped');
    },
  };
}

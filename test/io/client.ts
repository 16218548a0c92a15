/**
 * The client's side of container stdio, as ctr and CRI do it: make the FIFOs, open stdout
 * and stderr for reading with O_NONBLOCK before Create, and the stdin writer (whose open
 * completes only once the shim has a reader).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;

export interface Fifos {
  stdin: string;
  stdout: string;
  stderr: string;
}

export function makeFifos(dir: string, id: string, which: (keyof Fifos)[] = ['stdin', 'stdout', 'stderr']): Fifos {
  const f = { stdin: path.join(dir, `${id}-stdin`), stdout: path.join(dir, `${id}-stdout`), stderr: path.join(dir, `${id}-stderr`) };
  execFileSync('mkfifo', ['-m', '0700', ...which.map((k) => f[k])]);
  return f;
}

/** The client's reader on an output FIFO: open it first, start reading only after Create. */
export function openReader(fifo: string): number {
  return fs.openSync(fifo, O_RDONLY | O_NONBLOCK);
}

/** The client's stdin writer: only possible once the shim's reader exists. */
export function openWriter(fifo: string): number {
  return fs.openSync(fifo, O_WRONLY | O_NONBLOCK);
}

/** Everything read from fd until EOF (net.Socket copes with the non-blocking fd). */
export function readAll(fd: number): Promise<Buffer> {
  const s = new net.Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

/** Writes data to fd, then closes it (the client's end). */
export function writeAndClose(fd: number, data: Buffer | string): Promise<void> {
  const s = new net.Socket({ fd, readable: false, writable: true });
  return new Promise((resolve, reject) => {
    s.on('error', reject);
    s.end(data, () => {
      s.destroy();
      s.once('close', () => resolve());
    });
  });
}

export const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A "container": sh -c script on the given stdio fds. */
export function runContainer(script: string, stdio: [number, number, number]): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn('sh', ['-c', script], { stdio });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  return { child, exited };
}

export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** What an fd of ours points at: '/dev/null', a FIFO's path, 'pipe:[123]'. */
export function fdTarget(fd: number): string {
  return fs.readlinkSync(`/proc/self/fd/${fd}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Shared by the console-socket and terminal-copy tests: a runc-like sender, ptys, FIFO clients.
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startConsoleCopy, type ConsoleCopy, type ConsoleFifos } from '../../src/io/terminal-copy.js';
import { openPty, type Pty } from '../../src/sys/tty.js';
import { tempDir } from '../helpers/tmp.js';
import { makeFifos, openFdCount, openReader, openWriter } from './client.js';

// ---------------------------------------------------------------------------------------
// Helpers

/** What runc does with --console-socket: connect, send fd 3 with SCM_RIGHTS, the name as data. */
export const SEND_FD3 = `
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
socket.send_fds(c, [sys.argv[2].encode()], [3])
`;

/** Sends the read end of a pipe: an fd, but no terminal. */
export const SEND_PIPE = `
import os, socket, sys
r, w = os.pipe()
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
socket.send_fds(c, [b'pipe'], [r])
`;

/** Sends our pty master to sock as runc would; resolves when the sender is done. */
export async function sendMaster(sock: string, p: Pty): Promise<void> {
  const sender = spawn('python3', ['-c', SEND_FD3, sock, p.name], { stdio: ['ignore', 'inherit', 'inherit', p.master], timeout: 10_000 });
  const [code] = (await once(sender, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`sender exited with ${code}`);
}

export const closeAll = (...fds: number[]) => fds.forEach((fd) => fs.closeSync(fd));

/** Counting only once every socket's close has run. */
export async function fdCountSettled(): Promise<number> {
  await sleep(20);
  return openFdCount();
}

/**
 * A "container" on the slave: sh -c script with the slave as 0, 1 and 2, in its own
 * session. Our copy of the slave is closed, so the master reads EIO when the script ends.
 */
export function onTerminal(t: Test, p: Pty, script: string): Promise<number | null> {
  const child = spawn('sh', ['-c', script], { stdio: [p.slave, p.slave, p.slave], detached: true });
  fs.closeSync(p.slave);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/** The client's side of the stdout FIFO, read as it arrives. */
export function watchOutput(fd: number) {
  const s = new net.Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const all = new Promise<Buffer>((resolve, reject) => {
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
  const text = () => Buffer.concat(chunks).toString();
  return {
    text,
    /** Everything, once the shim has closed its end. */
    all,
    async waitFor(want: string, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!text().includes(want)) {
        if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(want)} in output ${JSON.stringify(text())}`);
        await sleep(10);
      }
    },
  };
}

export interface Setup {
  p: Pty;
  copy: ConsoleCopy;
  /** The client's stdout reader: watchOutput(outR) starts reading it. */
  outR: number | undefined;
  /** The client's stdin writer. */
  inW: number | undefined;
}

/** As ctr does: FIFOs made and the stdout reader opened before Create, the stdin writer after. */
export function setup(t: Test, want: { stdin?: boolean; stdout?: boolean } = {}): Setup {
  const { stdin = true, stdout = true } = want;
  const f = makeFifos(tempDir(t), 'c1', ['stdin', 'stdout']);
  const outR = stdout ? openReader(f.stdout) : undefined;
  const p = openPty();
  const fifos: ConsoleFifos = { stdin: stdin ? f.stdin : null, stdout: stdout ? f.stdout : null };
  const copy = startConsoleCopy(p.master, fifos);
  t.teardown(() => copy.close());
  const inW = stdin ? openWriter(f.stdin) : undefined;
  return { p, copy, outR, inW };
}

/** Resolves true if promise settles within ms. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
}

// ---------------------------------------------------------------------------------------
// The console socket


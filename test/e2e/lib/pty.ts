/**
 * Runs a command on a pty of a given size, as an operator's terminal would: ctr -t needs
 * a real terminal on its stdio, and reads its size from it.
 */
import fs from 'node:fs';
import tty from 'node:tty';
import { spawn, type ChildProcess } from 'node:child_process';
import { ioctlSetWinsize, openPty } from '../../../src/sys/tty.js';

export interface PtyProcess {
  child: ChildProcess;
  /** Everything the command wrote so far. */
  output(): string;
  write(text: string): void;
  /** Resolves when the output matches (or rejects after timeoutMs, showing the output). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code when the command ends. */
  exited: Promise<number | null>;
  close(): void;
}

export function spawnOnPty(cmd: { file: string; args: string[]; env: Record<string, string> }, size: { rows: number; cols: number }): PtyProcess {
  const pty = openPty();
  ioctlSetWinsize(pty.master, size.rows, size.cols);
  const child = spawn(cmd.file, cmd.args, { env: cmd.env, stdio: [pty.slave, pty.slave, pty.slave], detached: true });
  fs.closeSync(pty.slave);
  let out = '';
  const reader = new tty.ReadStream(pty.master);
  reader.on('data', (d: Buffer) => (out += d.toString()));
  // EIO once the command and everything holding the slave are gone: that is the end.
  reader.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let closed = false;
  return {
    child,
    output: () => out,
    write: (text) => fs.writeSync(pty.master, text),
    async waitFor(re, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const m = out.match(re);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${re} in pty output: ${JSON.stringify(out.slice(-2000))}`);
    },
    exited,
    close() {
      if (closed) return;
      closed = true;
      if (child.exitCode === null) child.kill('SIGKILL');
      reader.destroy();
    },
  };
}

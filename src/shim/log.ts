import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { Code, codeName } from '../errors/index.js';
import type { LoggedCall } from './call-log.js';

/** One file's bound: past it the file becomes `<file>.1` (the one before is dropped). */
export const MAX_LOG_BYTES = 8 << 20;
/** Logs of daemons long gone: the newest this many are kept (one per namespace and group). */
export const KEEP_LOGS = 64;

/**
 * The daemon's log: JSON lines into its own file (for `switchyard logs`), and each task's
 * lines also into that task's bundle `log` fifo, which containerd copies into its own log.
 * The file outlives the daemon and is bounded: at most two times MAX_LOG_BYTES per group.
 */
export class DaemonLog {
  readonly logger: Logger;
  private fd: number;
  private size: number;
  private readonly fifos = new Map<string, number>();

  constructor(
    private readonly file: string,
    level: string,
    private readonly maxBytes = MAX_LOG_BYTES,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
    this.logger = pino({ level, base: { pid: process.pid } }, { write: (line: string) => this.write(line) });
  }

  /** Starts copying a task's lines into its bundle's log fifo (if containerd holds it open). */
  attach(taskId: string, bundle: string): void {
    try {
      const fd = fs.openSync(path.join(bundle, 'log'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      this.fifos.set(taskId, fd);
    } catch {
      // No fifo, or nobody reading it (ENXIO): the daemon's file still has every line.
    }
  }

  detach(taskId: string): void {
    const fd = this.fifos.get(taskId);
    if (fd === undefined) return;
    this.fifos.delete(taskId);
    fs.closeSync(fd);
  }

  private write(line: string): void {
    try {
      if (this.size + line.length > this.maxBytes) this.rotate();
      this.size += fs.writeSync(this.fd, line);
    } catch {
      // A full disk must not take the daemon down with it.
    }
    if (this.fifos.size === 0) return;
    const m = /"task":"([^"]+)"/.exec(line);
    const fd = m ? this.fifos.get(m[1]!) : undefined;
    if (fd === undefined) return;
    try {
      fs.writeSync(fd, line);
    } catch {
      // EAGAIN (containerd not reading fast enough) or EPIPE (containerd restarting):
      // containerd's copy is best effort, the file keeps the line.
    }
  }

  private rotate(): void {
    fs.renameSync(this.file, `${this.file}.1`);
    const fd = fs.openSync(this.file, 'a', 0o600);
    fs.closeSync(this.fd);
    this.fd = fd;
    this.size = 0;
  }
}

/** A refused or failed call, with what an operator needs to match it to containerd's error. */
export function logRefusal(log: Logger, c: LoggedCall): void {
  const fields = { method: c.method, task: c.taskId || undefined, exec: c.execId || undefined, code: codeName(c.code), message: c.message };
  // NotFound is how containerd's cleanup probes for what is already gone: not a warning.
  if (c.code === Code.NotFound) log.info(fields, 'call refused');
  else log.warn(fields, 'call refused');
}

/** Drops the oldest logs beyond KEEP_LOGS in `dir`, never `keep` (the one about to be used). */
export function pruneLogs(dir: string, keep: string, max = KEEP_LOGS): void {
  let files: { file: string; mtime: number }[];
  try {
    files = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .map((n) => path.join(dir, n))
      .filter((f) => f !== keep)
      .map((file) => ({ file, mtime: fs.statSync(file).mtimeMs }));
  } catch {
    return;
  }
  files.sort((a, b) => b.mtime - a.mtime);
  for (const { file } of files.slice(Math.max(0, max - 1))) {
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.1`, { force: true });
  }
}

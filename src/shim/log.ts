import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

/**
 * The daemon's log: JSON lines into its own file (for `switchyard logs`), and each task's
 * lines also into that task's bundle `log` fifo, which containerd copies into its own log.
 */
export class DaemonLog {
  readonly logger: Logger;
  private readonly fd: number;
  private readonly fifos = new Map<string, number>();

  constructor(file: string, level: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(file, 'a', 0o600);
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
      fs.writeSync(this.fd, line);
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
}

/** `logs`: one task's lines from every daemon log, running or gone. */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { print } from './output.js';

interface LogLine {
  time?: number;
  level?: number;
  msg?: string;
  task?: string;
  [k: string]: unknown;
}
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function formatLog(l: LogLine): string {
  const rest = Object.entries(l)
    .filter(([k]) => !['time', 'level', 'msg', 'task', 'pid', 'hostname', 'ns'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${new Date(l.time ?? 0).toISOString()} ${(LEVELS[l.level ?? 30] ?? String(l.level)).padEnd(5)} ${l.msg ?? ''}${rest ? ` ${rest}` : ''}`;
}

/**
 * Every daemon's log, running or gone: `<state>/logs/<key>.log` (after its rotated `.1`),
 * and the `daemon.log` of a daemon started by hand in its own directory.
 */
function daemonLogFiles(stateDir: string): string[] {
  const list = (dir: string) => {
    try {
      return fs.readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  const logs = path.join(stateDir, 'logs');
  const files = list(logs)
    .filter((n) => n.endsWith('.log'))
    .flatMap((n) => [path.join(logs, `${n}.1`), path.join(logs, n)]);
  const daemons = path.join(stateDir, 'daemons');
  return [...files, ...list(daemons).map((n) => path.join(daemons, n, 'daemon.log'))];
}

/** The daemon log lines of one task, from every daemon's log; -f keeps following. */
export async function logs(cfg: Config, id: string, follow: boolean, json: boolean, signal?: AbortSignal): Promise<number> {
  const offsets = new Map<string, number>();
  const scan = () => {
    for (const file of daemonLogFiles(cfg.stateDir)) {
      let text: string;
      try {
        const st = fs.statSync(file);
        let from = offsets.get(file) ?? 0;
        // Smaller than what we read: rotated under us, a new file from its start.
        if (st.size < from) from = 0;
        if (st.size <= from) continue;
        const fd = fs.openSync(file, 'r');
        const buf = Buffer.alloc(st.size - from);
        fs.readSync(fd, buf, 0, buf.length, from);
        fs.closeSync(fd);
        const end = buf.lastIndexOf(0x0a) + 1;
        offsets.set(file, from + end);
        text = buf.subarray(0, end).toString();
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line.includes(`"${id}"`)) continue;
        try {
          const l = JSON.parse(line) as LogLine;
          if (l.task !== id) continue;
          print(json ? line : formatLog(l));
        } catch {
          // a torn line at a daemon crash
        }
      }
    }
  };
  scan();
  while (follow && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, 250));
    scan();
  }
  return 0;
}

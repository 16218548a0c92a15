/**
 * `switchyard trace`: a live stream of one daemon's RPCs, from the Debug service on its
 * socket (Debug/Calls polled from the last sequence number seen).
 */
import fs from 'node:fs';
import path from 'node:path';
import { TtrpcClient } from '../transport/ttrpc/client.js';
import { debugService } from '../api/debug.js';
import { Code } from '../errors/index.js';

export interface DaemonCard {
  pid: number;
  socket: string;
  protocol: string;
  namespace: string;
  address: string;
  config: string;
  stateDir: string;
  version: string;
  startedAt: string;
}

/** Every daemon card under state_dir, alive or not. */
export function daemonCards(stateDir: string): (DaemonCard & { alive: boolean })[] {
  const dir = path.join(stateDir, 'daemons');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: (DaemonCard & { alive: boolean })[] = [];
  for (const name of names) {
    try {
      const card = JSON.parse(fs.readFileSync(path.join(dir, name, 'daemon.json'), 'utf8')) as DaemonCard;
      out.push({ ...card, alive: fs.existsSync(`/proc/${card.pid}`) });
    } catch {
      // A daemon that has not written its card yet, or a stale directory.
    }
  }
  return out;
}

const CODES = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k])) as Record<number, string>;

export interface TraceOptions {
  stateDir: string;
  namespace?: string;
  json?: boolean;
  /** Stop after this long (ms); default: until interrupted. */
  durationMs?: number;
  pollMs?: number;
  /** Only calls from now on (default), or everything still in the daemon's buffer. */
  fromStart?: boolean;
  out?: (line: string) => void;
  signal?: AbortSignal;
}

export async function trace(o: TraceOptions): Promise<number> {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const cards = daemonCards(o.stateDir).filter((c) => c.alive && c.protocol === 'ttrpc' && (!o.namespace || c.namespace === o.namespace));
  if (cards.length === 0) {
    process.stderr.write(`switchyard trace: no running daemon${o.namespace ? ` for namespace ${o.namespace}` : ''} under ${o.stateDir}/daemons (is a task running? try \`switchyard ps\`)\n`);
    return 1;
  }
  const clients = await Promise.all(cards.map(async (c) => ({ card: c, client: await TtrpcClient.connect(c.socket) })));
  const last = new Map<number, number>();
  for (const { card, client } of clients) last.set(card.pid, o.fromStart ? 0 : Number((await client.service(debugService).Calls({ after: 0, max: 1 })).last ?? 0));
  if (!o.json) out(`${'TIME'.padEnd(24)} ${'NAMESPACE'.padEnd(16)} ${'METHOD'.padEnd(12)} ${'TASK'.padEnd(24)} ${'EXEC'.padEnd(10)} ${'MS'.padStart(8)} CODE`);
  const end = o.durationMs ? Date.now() + o.durationMs : Infinity;
  try {
    while (Date.now() < end && !o.signal?.aborted) {
      for (const { card, client } of clients) {
        if (client.closed) continue;
        const r = await client.service(debugService).Calls({ after: last.get(card.pid) ?? 0, max: 1000 }).catch(() => undefined);
        if (!r) continue;
        for (const c of r.calls ?? []) {
          last.set(card.pid, Number(c.seq));
          const line = {
            time: new Date(Number(c.timeMs)).toISOString(),
            namespace: card.namespace,
            method: c.method ?? '',
            task: c.taskId ?? '',
            exec: c.execId ?? '',
            durationMs: Number((c.durationMs ?? 0).toFixed(2)),
            code: CODES[c.code ?? 0] ?? String(c.code),
            ...(c.message ? { message: c.message } : {}),
          };
          out(o.json ? JSON.stringify(line) : `${line.time.padEnd(24)} ${line.namespace.padEnd(16)} ${line.method.padEnd(12)} ${line.task.padEnd(24)} ${line.exec.padEnd(10)} ${String(line.durationMs).padStart(8)} ${line.code}`);
        }
        if (r.truncated) out(o.json ? JSON.stringify({ truncated: true }) : '… (calls dropped from the daemon buffer)');
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
    }
  } finally {
    for (const { client } of clients) client.close();
  }
  return 0;
}

/** The commands that talk to a task through its daemon: ps, state, pids, stats, kill, wait, exec. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomHex } from '../sys/random.js';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { io, containerd } from '../gen/proto.js';
import { readDecision } from '../routing/store.js';
import { daemonCards } from './trace.js';
import { connect, daemonFor, namespaceOf, taskIds } from './daemons.js';
import { age, CliError, print, printJson, table } from './output.js';

const STATUS = ['unknown', 'created', 'running', 'stopped', 'unknown', 'paused', 'pausing'];
const statusName = (n: number | null | undefined) => (STATUS[n ?? 0] ?? String(n)).toUpperCase();

export interface TaskRow {
  namespace: string;
  id: string;
  pod: string;
  /** `sandbox`: a pod served through the Sandbox API (no pause container); `task`: anything the Task API runs. */
  kind: 'sandbox' | 'task';
  runtime: string;
  pid: number;
  status: string;
  exitStatus: number | null;
  age: string;
  daemonPid: number;
}

export async function ps(stateDir: string, ns: string | undefined, json: boolean): Promise<number> {
  const rows: TaskRow[] = [];
  const cards = daemonCards(stateDir).filter((c) => !ns || c.namespace === ns);
  const seen = new Set<string>();
  for (const card of cards) {
    if (!card.alive) continue;
    let conn;
    try {
      conn = await connect(card);
    } catch {
      continue;
    }
    try {
      for (const id of taskIds(stateDir, card.namespace)) {
        if (seen.has(`${card.namespace}/${id}`)) continue;
        const d = readDecision(stateDir, card.namespace, id);
        const base = { namespace: card.namespace, id, pod: d?.inputs.sandboxId ?? '', runtime: d?.runtime ?? '?', age: age(d?.at), daemonPid: card.pid };
        const st = await conn.task.State({ id }, { timeoutMs: 5000 }).catch(() => undefined);
        if (st) {
          seen.add(`${card.namespace}/${id}`);
          const status = statusName(st.status);
          rows.push({ ...base, kind: 'task', pid: st.pid ?? 0, status, exitStatus: status === 'STOPPED' ? (st.exitStatus ?? 0) : null });
          continue;
        }
        const sb = await conn.sandbox.SandboxStatus({ sandboxId: id }, { timeoutMs: 5000 }).catch(() => undefined);
        if (!sb) continue;
        seen.add(`${card.namespace}/${id}`);
        rows.push({ ...base, kind: 'sandbox', pod: id, pid: sb.pid ?? 0, status: (sb.state ?? '').replace(/^SANDBOX_/, ''), exitStatus: null });
      }
    } finally {
      conn.client.close();
    }
  }
  const grouped = groupByPod(rows);
  if (json) {
    printJson({
      daemons: cards.map((c) => ({ pid: c.pid, namespace: c.namespace, socket: c.socket, alive: c.alive, startedAt: c.startedAt, config: c.config })),
      tasks: grouped.filter((r) => r.kind === 'task'),
      sandboxes: grouped.filter((r) => r.kind === 'sandbox').map((s) => ({ ...s, tasks: grouped.filter((r) => r.kind === 'task' && r.pod === s.id && r.namespace === s.namespace).map((r) => r.id) })),
    });
    return 0;
  }
  print(table(['DAEMON', 'NAMESPACE', 'ALIVE', 'AGE', 'SOCKET'], cards.map((c) => [String(c.pid), c.namespace, c.alive ? 'yes' : 'DEAD', age(c.startedAt), c.socket])));
  print('');
  // A pod's line first (its sandbox, or its pause task), then its containers indented under it.
  const name = (r: TaskRow) => (r.kind === 'sandbox' ? `${r.id.slice(0, 12)} (sandbox)` : r.pod && r.pod !== r.id ? `  ${r.id}` : r.id);
  print(table(['NAMESPACE', 'TASK', 'POD', 'RUNTIME', 'PID', 'STATUS', 'EXIT', 'AGE'], grouped.map((r) => [r.namespace, name(r), r.pod ? r.pod.slice(0, 12) : '-', r.runtime, String(r.pid), r.status, r.exitStatus === null ? '-' : String(r.exitStatus), r.age])));
  return 0;
}

/** Rows in pod order: each pod's own row (sandbox or pause task) then its containers; tasks of no pod last. */
export function groupByPod(rows: readonly TaskRow[]): TaskRow[] {
  const key = (r: TaskRow) => `${r.namespace}/${r.pod}`;
  const heads = rows.filter((r) => r.pod && r.pod === r.id);
  const out: TaskRow[] = [];
  const placed = new Set<TaskRow>();
  for (const h of heads) {
    out.push(h);
    placed.add(h);
    for (const r of rows) {
      if (!placed.has(r) && key(r) === key(h)) {
        out.push(r);
        placed.add(r);
      }
    }
  }
  // Containers whose pod this node does not show (another daemon), grouped all the same.
  const rest = rows.filter((r) => !placed.has(r)).sort((a, b) => key(a).localeCompare(key(b)));
  return [...out, ...rest];
}

async function withTask<T>(stateDir: string, id: string, ns: string | undefined, fn: (c: Awaited<ReturnType<typeof daemonFor>>) => Promise<T>): Promise<T> {
  const c = await daemonFor(stateDir, id, namespaceOf(stateDir, id, ns));
  try {
    return await fn(c);
  } finally {
    c.client.close();
  }
}

export function state(stateDir: string, id: string, ns: string | undefined, execId: string | undefined, json: boolean): Promise<number> {
  return withTask(stateDir, id, ns, async (c) => {
    const st = await c.task.State({ id, execId: execId ?? '' });
    const v = { id, execId: execId ?? '', namespace: c.card.namespace, runtime: c.decision?.runtime, pid: st.pid, status: statusName(st.status), exitStatus: st.exitStatus, bundle: st.bundle, stdin: st.stdin, stdout: st.stdout, stderr: st.stderr, terminal: st.terminal };
    if (json) printJson(v);
    else print(Object.entries(v).map(([k, val]) => `${k.padEnd(11)} ${val ?? ''}`).join('\n'));
    return 0;
  });
}

export function pids(stateDir: string, id: string, ns: string | undefined, json: boolean): Promise<number> {
  return withTask(stateDir, id, ns, async (c) => {
    const r = await c.task.Pids({ id });
    const procs = (r.processes ?? []).map((p) => ({
      pid: p.pid ?? 0,
      execId: p.info?.value?.length ? (containerd.runc.v1.ProcessDetails.decode(p.info.value).execId ?? '') : '',
    }));
    if (json) printJson(procs);
    else print(table(['PID', 'EXEC'], procs.map((p) => [String(p.pid), p.execId || '-'])));
    return 0;
  });
}

export function stats(stateDir: string, id: string, ns: string | undefined, json: boolean): Promise<number> {
  return withTask(stateDir, id, ns, async (c) => {
    const r = await c.task.Stats({ id });
    const any = r.stats;
    let v: Record<string, unknown>;
    if (any?.type_url === 'io.containerd.cgroups.v1.Metrics') {
      const m = io.containerd.cgroups.v1.Metrics.decode(any.value ?? new Uint8Array());
      v = { cgroup: 'v1', cpuUsageNs: m.cpu?.usage?.total, memoryUsageBytes: m.memory?.usage?.usage, memoryLimitBytes: m.memory?.usage?.limit, pids: m.pids?.current, pidsLimit: m.pids?.limit };
    } else if (any?.type_url === 'io.containerd.cgroups.v2.Metrics') {
      const m = io.containerd.cgroups.v2.Metrics.decode(any.value ?? new Uint8Array());
      v = { cgroup: 'v2', cpuUsageUsec: m.cpu?.usageUsec, memoryUsageBytes: m.memory?.usage, memoryLimitBytes: m.memory?.usageLimit, pids: m.pids?.current, pidsLimit: m.pids?.limit };
    } else {
      throw new CliError(`unexpected metrics type ${any?.type_url ?? '(none)'}`);
    }
    if (json) printJson(v);
    else print(Object.entries(v).map(([k, val]) => `${k.padEnd(17)} ${val ?? '-'}`).join('\n'));
    return 0;
  });
}

const SIGNALS = os.constants.signals as Record<string, number>;
export function parseSignal(s: string): number {
  const n = Number(s);
  if (Number.isInteger(n) && n > 0 && n < 65) return n;
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const v = SIGNALS[name];
  if (!v) throw new CliError(`unknown signal ${s} (try TERM, KILL, 9)`, 2);
  return v;
}

export function kill(stateDir: string, id: string, ns: string | undefined, signal: number, all: boolean, execId?: string): Promise<number> {
  return withTask(stateDir, id, ns, async (c) => {
    await c.task.Kill({ id, execId: execId ?? '', signal, all });
    return 0;
  });
}

export function wait(stateDir: string, id: string, ns: string | undefined, json: boolean): Promise<number> {
  return withTask(stateDir, id, ns, async (c) => {
    const r = await c.task.Wait({ id });
    if (json) printJson({ id, exitStatus: r.exitStatus });
    else print(String(r.exitStatus ?? 0));
    return 0;
  });
}

/**
 * `exec ID -- CMD…`: the task's own process spec with CMD as its args, run through the
 * daemon with FIFOs of ours, as ctr does. The exit code is the command's.
 */
export function exec(stateDir: string, id: string, ns: string | undefined, cmd: string[], tty: boolean): Promise<number> {
  return withTask(stateDir, id, ns, async (c) => {
    const st = await c.task.State({ id });
    const spec = JSON.parse(fs.readFileSync(path.join(st.bundle ?? '', 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    const execId = `sy-${randomHex(4)}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-exec-'));
    const fifo = (n: string) => {
      const p = path.join(dir, n);
      execFileSync('mkfifo', ['-m', '0600', p]);
      return p;
    };
    const stdout = fifo('stdout');
    const stderr = tty ? '' : fifo('stderr');
    const stdin = fifo('stdin');
    const { O_RDWR, O_RDONLY, O_NONBLOCK } = fs.constants;
    // Our ends exist before Exec (read-write never blocks on a FIFO), so the daemon's opens
    // do not wait for us. Once Start returns the daemon holds its ends, and we read through read-only fds
    // instead, which see EOF when the process and the daemon let go: that, not a timer,
    // says the output is complete.
    const holders = [stdout, stderr, stdin].filter(Boolean).map((p) => fs.openSync(p, O_RDWR | O_NONBLOCK));
    let inS: net.Socket | undefined;
    const readers: Promise<void>[] = [];
    const sockets: net.Socket[] = [];
    const attach = () => {
      for (const [file, sink] of [[stdout, process.stdout], [stderr, process.stderr]] as const) {
        if (!file) continue;
        const s = new net.Socket({ fd: fs.openSync(file, O_RDONLY | O_NONBLOCK), readable: true, writable: false });
        sockets.push(s);
        readers.push(new Promise((res) => { s.once('end', res); s.once('close', res); s.once('error', res); }));
        s.pipe(sink, { end: false });
      }
      inS = new net.Socket({ fd: fs.openSync(stdin, O_RDWR | O_NONBLOCK), readable: false, writable: true });
      sockets.push(inS);
      for (const fd of holders.splice(0)) fs.closeSync(fd);
      // Input flows only now: written earlier, it could sit in a pipe nobody else holds yet
      // and vanish with our writer.
      process.stdin.on('data', onIn);
      process.stdin.once('end', () => {
        // Our writer goes first, then the daemon's: the process then reads EOF.
        inS?.destroy();
        void c.task.CloseIO({ id, execId, stdin: true }).catch(() => undefined);
      });
    };
    const raw = tty && process.stdin.isTTY;
    if (raw) process.stdin.setRawMode(true);
    const onIn = (d: Buffer) => inS?.write(d);
    const done = () => {
      process.stdin.off('data', onIn);
      process.stdin.pause();
      if (raw) process.stdin.setRawMode(false);
    };
    try {
      await c.task.Exec({
        id,
        execId,
        stdin: stdin,
        stdout,
        stderr,
        terminal: tty,
        spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify({ ...spec.process, args: cmd, terminal: tty })) },
      });
      if (tty && process.stdout.isTTY) {
        const resize = () => void c.task.ResizePty({ id, execId, width: process.stdout.columns, height: process.stdout.rows }).catch(() => undefined);
        process.stdout.on('resize', resize);
      }
      const waiting = c.task.Wait({ id, execId });
      await c.task.Start({ id, execId });
      attach();
      if (tty && process.stdout.isTTY) await c.task.ResizePty({ id, execId, width: process.stdout.columns, height: process.stdout.rows }).catch(() => undefined);
      const r = await waiting;
      // The output ends when the daemon closes its ends; a background child still holding
      // them must not keep us here.
      await Promise.race([Promise.all(readers), new Promise((res) => setTimeout(res, 2000).unref())]);
      await c.task.Delete({ id, execId }).catch(() => undefined);
      return r.exitStatus ?? 0;
    } finally {
      done();
      for (const fd of holders) fs.closeSync(fd);
      for (const s of sockets) s.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}


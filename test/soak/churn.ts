/**
 * Churn: create/start/wait/delete cycles with an exec each, through containerd, and the
 * daemon's footprint before and after: open fds, RSS, child processes, mounts.
 */
import fs from 'node:fs';
import type { ContainerdHandle } from '../e2e/lib/containerd.js';
import { RUNTIME, daemonPids } from '../e2e/lib/switchyard.js';
import { TtrpcClient } from '../../src/transport/ttrpc/client.js';
import { debugService } from '../../src/api/debug.js';
import { socketAddress } from '../../src/shim/address.js';

export interface Footprint {
  /** The daemon's V8 heap after a GC, from its Debug/Info. */
  heapKiB: number;
  fds: number;
  rssKiB: number;
  children: number;
  mounts: number;
}

async function heapKiB(c: ContainerdHandle): Promise<number> {
  const client = await TtrpcClient.connect(socketAddress(c.address, c.namespace, 'switchyard:ttrpc'));
  try {
    const info = await client.service(debugService).Info({}, { timeoutMs: 5000 });
    return Math.round(Number(info.heapUsedBytes ?? 0) / 1024);
  } finally {
    client.close();
  }
}

export async function footprint(c: ContainerdHandle, pid: number, stateDir: string): Promise<Footprint> {
  const children = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    }).length;
  // fds first: the Debug/Info connection below is one more until the daemon closes it.
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  return {
    heapKiB: await heapKiB(c),
    fds,
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0),
    children,
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(stateDir)).length,
  };
}

/** n cycles: run a container, exec in it, kill it, delete it; returns the footprints around them. */
export async function churn(c: ContainerdHandle, ref: string, n: number, log: (s: string) => void = () => undefined) {
  // A first task brings the daemon up; the baseline is taken with it warm and idle.
  await c.ctr(['run', '--rm', '--runtime', RUNTIME, ref, 'warm', 'true']);
  const pid = daemonPids(c)[0]!;
  const before = await footprint(c, pid, c.state);
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const id = `churn-${i}`;
    await c.ctr(['run', '-d', '--runtime', RUNTIME, ref, id, 'sleep', '1000']);
    const ex = await c.ctr(['task', 'exec', '--exec-id', 'x', id, 'sh', '-c', 'exit 4'], { reject: false });
    if (ex.exitCode !== 4) throw new Error(`cycle ${i}: exec exit ${ex.exitCode}: ${ex.stderr}`);
    await c.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    // ctr 1.6 has no `task wait`: the kill is done when the task shows STOPPED.
    for (let k = 0; k < 200 && !new RegExp(`^${id}\\s+\\d+\\s+STOPPED`, 'm').test((await c.ctr(['task', 'ls'])).stdout); k++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const del = await c.ctr(['task', 'delete', id], { reject: false });
    if (!/137/.test(del.stdout) && del.exitCode !== 0) log(`cycle ${i}: delete said ${del.stdout} ${del.stderr}`);
    await c.ctr(['container', 'delete', id]);
    if ((i + 1) % 100 === 0) log(`${i + 1} cycles, ${JSON.stringify(await footprint(c, pid, c.state))}`);
  }
  // Let the reaper's sweep and libuv settle (containerd closes its connections in its own
  // time): a leak stays, a straggler goes.
  let after = await footprint(c, pid, c.state);
  for (let k = 0; k < 20 && after.fds > before.fds; k++) {
    await new Promise((r) => setTimeout(r, 250));
    after = await footprint(c, pid, c.state);
  }
  return { pid, before, after, cycles: n, seconds: (Date.now() - started) / 1000 };
}

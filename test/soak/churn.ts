/**
 * Churn: create/start/wait/delete cycles with an exec each, through containerd, and the
 * daemon's footprint before and after: open fds, RSS, child processes, mounts.
 */
import fs from 'node:fs';
import type { ContainerdHandle } from '../e2e/lib/containerd.js';
import { RUNTIME, daemonPids } from '../e2e/lib/switchyard.js';

export interface Footprint {
  fds: number;
  rssKiB: number;
  children: number;
  mounts: number;
}

export function footprint(pid: number, stateDir: string): Footprint {
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
  return {
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0),
    children,
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(stateDir)).length,
  };
}

/** n cycles: run a container that execs once and exits; returns the footprints around them. */
export async function churn(c: ContainerdHandle, ref: string, n: number, log: (s: string) => void = () => undefined) {
  // A first task brings the daemon up; the baseline is taken with it warm and idle.
  await c.ctr(['run', '--rm', '--runtime', RUNTIME, ref, 'warm', 'true']);
  const pid = daemonPids(c)[0]!;
  const before = footprint(pid, c.state);
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const id = `churn-${i}`;
    await c.ctr(['run', '-d', '--runtime', RUNTIME, ref, id, 'sleep', '1000']);
    const ex = await c.ctr(['task', 'exec', '--exec-id', 'x', id, 'sh', '-c', 'exit 4'], { reject: false });
    if (ex.exitCode !== 4) throw new Error(`cycle ${i}: exec exit ${ex.exitCode}: ${ex.stderr}`);
    await c.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    const w = await c.ctr(['task', 'wait', id], { reject: false });
    if (!/137/.test(w.stdout + w.stderr) && w.exitCode !== 137) log(`cycle ${i}: wait said ${w.stdout} ${w.exitCode}`);
    await c.ctr(['task', 'delete', id]);
    await c.ctr(['container', 'delete', id]);
    if ((i + 1) % 100 === 0) log(`${i + 1} cycles, ${JSON.stringify(footprint(pid, c.state))}`);
  }
  // Let the reaper's sweep and libuv settle before measuring.
  await new Promise((r) => setTimeout(r, 1500));
  const after = footprint(pid, c.state);
  return { pid, before, after, cycles: n, seconds: (Date.now() - started) / 1000 };
}

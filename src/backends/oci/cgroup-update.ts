/**
 * OCI LinuxResources written straight into a host cgroup: for runtimes without an
 * `update` command (runsc before 2026), whose sandbox's host cgroup is what the kernel
 * enforces. Memory, CPU and pids, as runc's cgroupfs driver writes them; anything else
 * is refused rather than dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { failedPrecondition } from '../../errors/index.js';
import type { Cgroup } from '../../cgroups/index.js';

interface Resources {
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
  [other: string]: unknown;
}

type Write = [controller: string, file: string, value: string];

const APPLIED = new Set(['memory', 'cpu', 'pids']);

/** The files and values for a v1 or v2 cgroup, in the order they must be written. */
export function cgroupWrites(version: 1 | 2, r: Resources): Write[] {
  const other = Object.keys(r).filter((k) => !APPLIED.has(k) && r[k] !== undefined && r[k] !== null);
  if (other.length) throw failedPrecondition(`cannot update ${other.join(', ')} of a sandbox's cgroup: only memory, cpu and pids`);
  const out: Write[] = [];
  const m = r.memory ?? {};
  const c = r.cpu ?? {};
  const limit = (n: number | undefined) => (n === undefined ? undefined : n < 0 ? (version === 1 ? '-1' : 'max') : String(n));
  if (version === 1) {
    // memsw must stay >= the memory limit: raise it first when both change.
    if (m.swap !== undefined) out.push(['memory', 'memory.memsw.limit_in_bytes', limit(m.swap)!]);
    if (m.limit !== undefined) out.push(['memory', 'memory.limit_in_bytes', limit(m.limit)!]);
    if (m.reservation !== undefined) out.push(['memory', 'memory.soft_limit_in_bytes', limit(m.reservation)!]);
    if (c.shares) out.push(['cpu', 'cpu.shares', String(c.shares)]);
    if (c.period) out.push(['cpu', 'cpu.cfs_period_us', String(c.period)]);
    if (c.quota) out.push(['cpu', 'cpu.cfs_quota_us', String(c.quota)]);
    if (c.cpus) out.push(['cpuset', 'cpuset.cpus', c.cpus]);
    if (c.mems) out.push(['cpuset', 'cpuset.mems', c.mems]);
    if (r.pids?.limit) out.push(['pids', 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max']);
    return out;
  }
  if (m.limit !== undefined) out.push(['', 'memory.max', limit(m.limit)!]);
  if (m.reservation !== undefined) out.push(['', 'memory.low', limit(m.reservation)!]);
  // v2 counts swap apart from memory; OCI's swap is memory + swap, as in v1.
  if (m.swap !== undefined) out.push(['', 'memory.swap.max', m.swap < 0 ? 'max' : String(Math.max(0, m.swap - (m.limit ?? 0)))]);
  // runc's conversion of v1 shares (2..262144) to v2 weight (1..10000).
  if (c.shares) out.push(['', 'cpu.weight', String(1 + Math.floor(((c.shares - 2) * 9999) / 262142))]);
  if (c.quota || c.period) out.push(['', 'cpu.max', `${c.quota && c.quota > 0 ? c.quota : 'max'} ${c.period ?? 100000}`]);
  if (c.cpus) out.push(['', 'cpuset.cpus', c.cpus]);
  if (c.mems) out.push(['', 'cpuset.mems', c.mems]);
  if (r.pids?.limit) out.push(['', 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max']);
  return out;
}

export function applyResources(cg: Cgroup, resources: unknown): void {
  const r = (resources ?? {}) as Resources;
  for (const [controller, file, value] of cgroupWrites(cg.version, r)) {
    const dir = cg.version === 2 ? cg.path : cg.paths[controller];
    if (!dir) throw failedPrecondition(`cannot update ${file}: the ${controller} controller is not mounted`);
    try {
      fs.writeFileSync(path.join(dir, file), value);
    } catch (err) {
      throw failedPrecondition(`update ${path.join(dir, file)} = ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
  }
}

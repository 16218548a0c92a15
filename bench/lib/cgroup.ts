/**
 * CPU accounting through a cgroup of our own. containerd is moved into it before it spawns
 * any shim; every process it starts afterwards (shim `start`/`delete` invocations, shim
 * daemons, the runc calls they make) inherits it, and the kernel keeps charging it after
 * those processes exit. Container processes leave it: runc moves them into the container's
 * cgroup (/<namespace>/<id>) before they exec. So
 *
 *   CPU of shims + runc = Δ usage(cgroup) − Δ CPU(containerd's threads)
 *
 * exact to the nanosecond, including processes that lived for a few milliseconds.
 * cgroup v1 uses cpuacct.usage; a pure cgroup v2 host uses cpu.stat usage_usec.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atExit } from './exit.js';

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

interface Mount {
  point: string;
  fsType: string;
  superOpts: string;
  root: string;
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of (readText('/proc/self/mountinfo') ?? '').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    out.push({ root: l[3] ?? '', point: l[4] ?? '', fsType: r[0] ?? '', superOpts: r[2] ?? '' });
  }
  return out;
}

export class BenchCgroup {
  readonly dir: string;
  readonly kind: 'v1-cpuacct' | 'v2';
  private readonly release: () => void;

  private constructor(dir: string, kind: 'v1-cpuacct' | 'v2') {
    this.dir = dir;
    this.kind = kind;
    this.release = atExit(() => this.removeSync());
  }

  /** Make /sys/fs/cgroup/<cpuacct>/<name> (v1) or /sys/fs/cgroup/<name> (v2). */
  static create(name: string): BenchCgroup {
    const all = mounts();
    const v1 = all.find((m) => m.fsType === 'cgroup' && m.root === '/' && m.superOpts.split(',').includes('cpuacct'));
    const v2 = all.find((m) => m.fsType === 'cgroup2' && m.root === '/');
    let dir: string;
    let kind: 'v1-cpuacct' | 'v2';
    if (v1) {
      dir = path.join(v1.point, name);
      kind = 'v1-cpuacct';
    } else if (v2 && fs.existsSync(path.join(v2.point, 'cgroup.controllers'))) {
      dir = path.join(v2.point, name);
      kind = 'v2';
    } else {
      throw new Error('no cgroup v1 cpuacct or cgroup v2 hierarchy mounted');
    }
    fs.mkdirSync(dir);
    return new BenchCgroup(dir, kind);
  }

  /** Move pid (all its threads) into the group. */
  add(pid: number): void {
    fs.writeFileSync(path.join(this.dir, 'cgroup.procs'), String(pid));
  }

  pids(): number[] {
    return (readText(path.join(this.dir, 'cgroup.procs')) ?? '')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  }

  /** Total CPU time charged to the group so far, ns. */
  usageNs(): number {
    if (this.kind === 'v1-cpuacct') return Number(readText(path.join(this.dir, 'cpuacct.usage'))?.trim() ?? 'NaN');
    const m = /usage_usec (\d+)/.exec(readText(path.join(this.dir, 'cpu.stat')) ?? '');
    return m ? Number(m[1]) * 1000 : Number.NaN;
  }

  /** Move whatever is left to the parent group and remove ours. Idempotent. */
  private removeSync(): void {
    const parent = path.dirname(this.dir);
    for (let round = 0; round < 5 && fs.existsSync(this.dir); round++) {
      for (const pid of this.pids()) {
        try {
          fs.writeFileSync(path.join(parent, 'cgroup.procs'), String(pid));
        } catch {
          // gone meanwhile
        }
      }
      try {
        fs.rmdirSync(this.dir);
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    }
  }

  remove(): void {
    this.release();
  }
}

/**
 * CPU time of a live process, ns, from the sum of its threads' /proc/<pid>/task/<tid>/schedstat
 * (sum_exec_runtime, ns-precise; /proc/<pid>/stat counts 10 ms ticks). Threads that already
 * exited are missing, which is why it is used only for long-lived processes whose threads
 * live as long (containerd's Go runtime threads, Node's main, libuv and V8 threads).
 * 0 if the process is gone.
 */
export function threadsCpuNs(pid: number): number {
  let total = 0;
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tids) {
    const s = readText(`/proc/${pid}/task/${tid}/schedstat`);
    if (s) total += Number(s.split(' ')[0]) || 0;
  }
  return total;
}

/** CPU of a process from /proc/<pid>/stat, ns (10 ms resolution): its own, and that of the children it waited for. */
export interface StatCpu {
  ownNs: number;
  childrenNs: number;
}

export const NO_CPU: StatCpu = { ownNs: 0, childrenNs: 0 };

/** utime+stime and cutime+cstime; zeros if the process is gone. */
export function statCpu(pid: number): StatCpu {
  const s = readText(`/proc/${pid}/stat`);
  if (!s) return NO_CPU;
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // fields after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
  const ns = (ticks: number) => (ticks * 1e9) / 100; // USER_HZ is 100 on Linux
  return { ownNs: ns(Number(f[11]) + Number(f[12])), childrenNs: ns(Number(f[13]) + Number(f[14])) };
}

export function sumCpu(xs: readonly StatCpu[]): StatCpu {
  return xs.reduce((a, b) => ({ ownNs: a.ownNs + b.ownNs, childrenNs: a.childrenNs + b.childrenNs }), NO_CPU);
}

/** utime+stime (+ children's, when asked) from /proc/<pid>/stat, ns (10 ms resolution). */
export function statCpuNs(pid: number, children = false): number {
  const c = statCpu(pid);
  return c.ownNs + (children ? c.childrenNs : 0);
}

/** The shim processes of one private containerd, and their memory from /proc/<pid>/smaps. */
import fs from 'node:fs';

export type ShimKind = 'switchyard' | 'runc-v2';

export interface ProcMem {
  pid: number;
  rssKiB: number;
  pssKiB: number;
  /** Resident pages of the process's own executable (for Node: its ~40 MiB of text). */
  exeRssKiB: number;
  exePssKiB: number;
}

function cmdline(pid: number): string[] {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (raw[raw.length - 1] === '') raw.pop();
    return raw;
  } catch {
    return [];
  }
}

/**
 * What a process in containerd's cgroup is: Switchyard's resident daemon (`… serve`), a
 * runc-v2 shim daemon (no `start`/`delete` action), or something passing through (a
 * `start`/`delete` invocation, runc) — undefined.
 */
export function shimKind(pid: number): { kind: ShimKind; daemon: boolean } | undefined {
  const argv = cmdline(pid);
  const last = argv[argv.length - 1];
  if (argv.some((a) => a.endsWith('containerd-shim-switchyard-v2') || a.endsWith('containerd-shim-switchyard-v2.cjs'))) {
    return { kind: 'switchyard', daemon: last === 'serve' };
  }
  if (argv[0]?.endsWith('containerd-shim-runc-v2')) {
    return { kind: 'runc-v2', daemon: last !== 'start' && last !== 'delete' };
  }
  return undefined;
}

/** Long-lived shim processes of `kind` among `pids` (the members of containerd's cgroup). */
export function shimDaemons(pids: readonly number[], kind: ShimKind): number[] {
  return pids.filter((p) => {
    const k = shimKind(p);
    return k?.kind === kind && k.daemon;
  });
}

export function readMem(pid: number): ProcMem | undefined {
  let smaps: string;
  let exe: string;
  try {
    smaps = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
  // One pass over the mappings gives the totals (what smaps_rollup sums) and the executable's share.
  const m: ProcMem = { pid, rssKiB: 0, pssKiB: 0, exeRssKiB: 0, exePssKiB: 0 };
  let inExe = false;
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inExe = line.endsWith(` ${exe}`);
    else if (line.startsWith('Rss:') || line.startsWith('Pss:')) {
      const kib = Number(line.split(/\s+/)[1]);
      const rss = line.startsWith('Rss:');
      if (rss) m.rssKiB += kib;
      else m.pssKiB += kib;
      if (inExe && rss) m.exeRssKiB += kib;
      else if (inExe) m.exePssKiB += kib;
    }
  }
  return m;
}

export interface TotalMem {
  processes: number;
  rssKiB: number;
  pssKiB: number;
  /**
   * PSS as if these were the only processes running their executable: their share of it
   * is taken among themselves alone. Node's text is otherwise shared with any other Node
   * process (this benchmark is one), which would flatter a Node daemon's PSS.
   */
  soloPssKiB: number;
  perProcess: ProcMem[];
}

export function totalMem(pids: readonly number[]): TotalMem {
  const perProcess = pids.map(readMem).filter((m): m is ProcMem => m !== undefined);
  const sum = (f: (m: ProcMem) => number) => perProcess.reduce((a, m) => a + f(m), 0);
  // Every process here runs the same executable; its resident pages, counted once, split among them.
  const exeOnce = perProcess.length ? Math.max(...perProcess.map((m) => m.exeRssKiB)) : 0;
  return {
    processes: perProcess.length,
    rssKiB: sum((m) => m.rssKiB),
    pssKiB: sum((m) => m.pssKiB),
    soloPssKiB: sum((m) => m.pssKiB - m.exePssKiB) + exeOnce,
    perProcess,
  };
}

/** CPU the whole machine spent busy so far (every state but idle and iowait), ms. */
export function machineBusyMs(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return ((user + nice + system + irq + softirq + steal) * 1000) / 100; // USER_HZ is 100 on Linux
}

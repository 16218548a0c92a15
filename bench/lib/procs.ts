/** The shim processes of one private containerd, and their memory from smaps_rollup. */
import fs from 'node:fs';

export type ShimKind = 'switchyard' | 'runc-v2';

export interface ProcMem {
  pid: number;
  rssKiB: number;
  pssKiB: number;
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
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 'NaN');
  return { pid, rssKiB: kib('Rss'), pssKiB: kib('Pss') };
}

export function totalMem(pids: readonly number[]): { processes: number; rssKiB: number; pssKiB: number; perProcess: ProcMem[] } {
  const perProcess = pids.map(readMem).filter((m): m is ProcMem => m !== undefined);
  return {
    processes: perProcess.length,
    rssKiB: perProcess.reduce((a, m) => a + m.rssKiB, 0),
    pssKiB: perProcess.reduce((a, m) => a + m.pssKiB, 0),
    perProcess,
  };
}

/** The little of procfs the reaper needs: a process's state and its children. */
import fs from 'node:fs';

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  /** Clock ticks after boot; with pid, names one process even across pid reuse. */
  startTime: number;
}

/** /proc/<pid>/stat, or null when the process is gone. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm (field 2) is in parentheses and may itself contain spaces and ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

// Absent unless the kernel has CONFIG_PROC_CHILDREN (it is off on some cloud kernels).
let childrenFileWorks: boolean | undefined;

/** Direct children of pid (default: this process). */
export function childPids(pid = process.pid): number[] {
  childrenFileWorks ??= fs.existsSync(`/proc/self/task/${process.pid}/children`);
  return childrenFileWorks ? fromChildrenFiles(pid) : scanForChildren(pid);
}

/**
 * Every thread keeps its own list: a child forked from a libuv worker thread is listed
 * under that thread, not under the main one.
 */
function fromChildrenFiles(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const p of text.split(' ')) if (p.trim()) out.push(Number(p));
  }
  return out;
}

/** The slow way: every process's stat, filtered on ppid. */
function scanForChildren(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcStat(Number(name));
    if (st?.ppid === pid) out.push(st.pid);
  }
  return out;
}

/** Pids of the processes whose argv (from /proc/PID/cmdline) `match` accepts; ones that end meanwhile are skipped. */
export function processesWhere(match: (argv: string[], pid: number) => boolean): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = readArgv(Number(name));
    if (argv && match(argv, Number(name))) out.push(Number(name));
  }
  return out;
}

/** A process's argv; null once it is gone, and empty for a zombie. */
export function readArgv(pid: number): string[] | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw ? raw.replace(/\0$/, '').split('\0') : [];
  } catch {
    return null;
  }
}

/** A process's oom_score_adj (-1000..1000). */
export function readOomScoreAdj(pid: number): number {
  return Number.parseInt(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), 10);
}

/** Sets a process's oom_score_adj; lowering it needs CAP_SYS_RESOURCE. */
export function writeOomScoreAdj(pid: number, score: number): void {
  fs.writeFileSync(`/proc/${pid}/oom_score_adj`, `${Math.max(-1000, Math.min(1000, Math.trunc(score)))}\n`);
}

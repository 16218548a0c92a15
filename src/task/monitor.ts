/**
 * The container's cgroup, seen from the task layer: metrics for Stats, and OOM kills
 * reported exactly once each, before the exit they cause.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { cgroupOf, collectMetrics, watchOom, type Cgroup } from '../cgroups/index.js';
import type { AnyLike } from './payloads.js';

export interface ContainerMonitor {
  /** The container's metrics as containerd's Any (io.containerd.cgroups.v1/v2.Metrics). */
  stats(task: { id: string; pid: number }): Promise<AnyLike>;
  /** Starts watching the container's cgroup for OOM kills. */
  watchOom(task: { id: string; pid: number }, onOom: () => void): OomWatch;
}

export interface OomWatch {
  /**
   * True, once, for each OOM kill the cgroup has counted that onOom has not reported: the
   * kill may reach us as SIGCHLD before the cgroup's notification does.
   */
  pending(): boolean;
  close(): void;
}

/** The cgroup's OOM-kill counter (v1 memory.oom_control, v2 memory.events); 0 when unreadable. */
export function oomKills(cg: Cgroup): number {
  const file = cg.version === 2 ? path.join(cg.path, 'memory.events') : cg.paths.memory && path.join(cg.paths.memory, 'memory.oom_control');
  if (!file) return 0;
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export class CgroupMonitor implements ContainerMonitor {
  constructor(private readonly log: Logger) {}

  async stats(task: { id: string; pid: number }): Promise<AnyLike> {
    return collectMetrics(cgroupOf(task.pid));
  }

  watchOom(task: { id: string; pid: number }, onOom: () => void): OomWatch {
    const cg = cgroupOf(task.pid);
    let reported = oomKills(cg);
    const report = () => {
      // v1 notifies when the cgroup goes under OOM, a moment before the kill is counted.
      reported = Math.max(reported + 1, oomKills(cg));
      onOom();
    };
    const watch = watchOom(cg, report, {
      ref: false,
      onError: (err) => this.log.warn({ task: task.id, err }, 'OOM watch'),
    });
    return {
      pending: () => {
        const kills = oomKills(cg);
        if (kills <= reported) return false;
        reported = kills;
        return true;
      },
      close: () => watch.close(),
    };
  }
}

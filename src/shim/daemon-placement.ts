/**
 * Where a new daemon runs, chosen by `start` as runc-v2 chooses for its shim: in the
 * ShimCgroup its runc options name (the daemon group key includes it, so every task a
 * daemon serves asked for the same cgroup), and at containerd's oom_score_adj + 1, so
 * that under memory pressure the kernel kills a daemon before the containerd that
 * started it. containerd is `start`'s parent.
 */
import { joinCgroup } from '../cgroups/join.js';
import { readOomScoreAdj, writeOomScoreAdj } from '../sys/proc.js';

export const MAX_OOM_SCORE_ADJ = 1000;

export function placeDaemon(pid: number, shimCgroup: string | undefined, containerdPid = process.ppid): void {
  if (shimCgroup) {
    try {
      joinCgroup(pid, shimCgroup);
    } catch (err) {
      throw new Error(`cannot put the daemon into shim cgroup ${shimCgroup}: ${(err as Error).message}`, { cause: err });
    }
  }
  adjustOomScore(pid, containerdPid);
}

function adjustOomScore(pid: number, containerdPid: number): void {
  let score: number;
  try {
    score = readOomScoreAdj(containerdPid);
  } catch {
    // containerd gone already: the daemon keeps the score it inherited from it.
    return;
  }
  writeOomScoreAdj(pid, Math.min(score + 1, MAX_OOM_SCORE_ADJ));
}

/** Watching a container's cgroup for OOM kills, whichever cgroup version it is on. */
import { failedPrecondition } from '../errors/index.js';
import type { OomWatch, OomWatchOptions } from './oom-types.js';
import { watchOomV1 } from './oom-v1.js';
import { watchOomV2 } from './oom-v2.js';
import type { Cgroup } from './types.js';

export type { OomWatch, OomWatchEnd, OomWatchOptions } from './oom-types.js';

/**
 * Calls onOom for each OOM in the cgroup until close() or until the cgroup is removed
 * (v1) or emptied (v2). Setup errors throw: notFound for a cgroup already gone,
 * failedPrecondition for one without the memory controller.
 */
export function watchOom(cgroup: Cgroup, onOom: () => void, opts: OomWatchOptions = {}): OomWatch {
  if (cgroup.version === 2) return watchOomV2(cgroup.path, onOom, opts);
  const memory = cgroup.paths.memory;
  if (!memory) throw failedPrecondition('the cgroup has no v1 memory controller to watch for OOM');
  return watchOomV1(memory, onOom, opts);
}

/** Which cgroup layout the host runs, judged from the mount table alone. */
import { failedPrecondition } from '../errors/index.js';
import { type CgroupMount, cgroupMounts } from './mounts.js';

/**
 * 'hybrid' is v1 controllers plus a cgroup2 mount (systemd's /sys/fs/cgroup/unified)
 * that holds no resource controllers worth reporting: containers there are managed, and
 * measured, through the v1 hierarchies, so callers treat it like 'v1'.
 */
export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export function detectCgroupMode(mounts: readonly CgroupMount[] = cgroupMounts()): CgroupMode {
  // A named-only v1 hierarchy (name=systemd, kept for old tools) controls nothing: with
  // just that beside a cgroup2 mount, the resources are all on v2.
  const v1 = mounts.some((m) => m.version === 1 && m.controllers.some((c) => !c.startsWith('name=')));
  const v2 = mounts.some((m) => m.version === 2);
  if (v1) return v2 ? 'hybrid' : 'v1';
  if (v2) return 'v2';
  throw failedPrecondition('no cgroup filesystem is mounted (none in /proc/self/mountinfo)');
}

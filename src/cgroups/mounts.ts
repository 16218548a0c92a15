/**
 * The cgroup filesystems this process can see, from /proc/self/mountinfo. Everything that
 * turns a cgroup path into a directory starts here, so no other module assumes
 * /sys/fs/cgroup: inside a container, or on a distribution with another layout, the
 * hierarchies live wherever the mount table says.
 */
import fs from 'node:fs';
import { parseMountInfoLines } from '../sys/mountinfo.js';

export interface CgroupMount {
  /** Where it is mounted, in our mount namespace. */
  readonly mountPoint: string;
  /**
   * The cgroup that mount shows as its top, in our cgroup namespace: '/' for a host
   * mount, deeper for a bind mount or a container's view of the hierarchy.
   */
  readonly root: string;
  readonly version: 1 | 2;
  /**
   * v1: the controllers bound to this hierarchy ('cpu', 'cpuacct', ...) plus any
   * 'name=...' for a named one; v2: empty (the controllers are per cgroup, not per mount).
   */
  readonly controllers: readonly string[];
}

/**
 * mountinfo(5) text to cgroup mounts, in table order. A v1 hierarchy mounted twice
 * appears twice; callers pick by root.
 */
export function parseMountInfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const { fsType, root, mountPoint, superOptions } of parseMountInfoLines(text)) {
    if (fsType === 'cgroup2') out.push({ mountPoint, root, version: 2, controllers: [] });
    else if (fsType === 'cgroup') {
      // The super options carry the hierarchy's controllers among generic flags (rw,
      // xattr, clone_children, ...); only a controller or a name= names the hierarchy.
      const controllers = superOptions.split(',').filter((o) => o.startsWith('name=') || V1_CONTROLLERS.has(o));
      out.push({ mountPoint, root, version: 1, controllers });
    }
  }
  return out;
}

/** Every v1 controller Linux has had; anything else in the super options is a flag. */
const V1_CONTROLLERS = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

let cached: readonly CgroupMount[] | undefined;

/**
 * This process's cgroup mounts. Read once: cgroup filesystems are mounted at boot and a
 * busy node's mount table can be megabytes, too much to parse on every Stats call.
 */
export function cgroupMounts(): readonly CgroupMount[] {
  cached ??= Object.freeze(parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')));
  return cached;
}

/**
 * The pod's cgroup for its sandbox process: `<cgroup_parent>/<sandbox id>` in every
 * mounted hierarchy, where runc would have put a pause container (cgroupfs driver). The
 * pod's containers land beside it under the same parent. A systemd parent (a .slice) is
 * systemd's to manage: the holder then stays in the daemon's cgroup, and the log says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cgroupMounts } from '../cgroups/index.js';
import { failedPrecondition } from '../errors/index.js';

export interface PodCgroup {
  /** The directories made, one a hierarchy. */
  readonly dirs: string[];
  remove(): void;
}

export function isCgroupfsParent(parent: string): boolean {
  return parent.startsWith('/');
}

/** Puts pid into `<parent>/<id>` in every hierarchy. */
export function joinPodCgroup(pid: number, parent: string, id: string): PodCgroup {
  const cg = path.posix.join(path.posix.normalize(parent), id);
  const dirs: string[] = [];
  const seen = new Set<string>();
  for (const m of cgroupMounts()) {
    if (seen.has(m.mountPoint)) continue;
    seen.add(m.mountPoint);
    // A bind mount shows part of the hierarchy: only cgroups under its root are reachable.
    const rel = path.posix.relative(m.root, cg);
    if (rel.startsWith('..')) continue;
    const dir = path.join(m.mountPoint, rel);
    try {
      mkdirCgroup(m.mountPoint, rel);
      dirs.push(dir);
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    } catch (err) {
      removeDirs(dirs);
      throw failedPrecondition(`cannot put the pod's sandbox into cgroup ${dir}: ${(err as Error).message}`, err);
    }
  }
  return {
    dirs,
    remove: () => removeDirs(dirs),
  };
}

/**
 * Makes each level under the mount. A new v1 cpuset cgroup starts with no CPUs and no
 * memory nodes, and refuses tasks (ENOSPC) until they are copied from its parent, as runc
 * does for a container's.
 */
function mkdirCgroup(mountPoint: string, rel: string): void {
  let dir = mountPoint;
  for (const part of rel.split('/').filter(Boolean)) {
    const parent = dir;
    dir = path.join(dir, part);
    if (!fs.existsSync(dir)) fs.mkdirSync(dir);
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const file = path.join(dir, f);
      if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8').trim() !== '') continue;
      fs.writeFileSync(file, fs.readFileSync(path.join(parent, f), 'utf8').trim());
    }
  }
}

function removeDirs(dirs: readonly string[]): void {
  for (const d of dirs) {
    try {
      fs.rmdirSync(d);
    } catch {
      // Gone already, or a process is still leaving it: the parent's owner removes it.
    }
  }
}

/**
 * Moves a process into a cgroup by path in every hierarchy that shows it, creating the
 * cgroup where it is missing: the daemon's `ShimCgroup` (runc's option) on v1, hybrid and
 * v2 hosts alike. Plain file writes, no native code: `start` does this.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cgroupMounts, type CgroupMount } from './mounts.js';

/** Files a new v1 cpuset cgroup starts with empty; a task cannot join until they are set. */
const CPUSET_FILES = ['cpuset.cpus', 'cpuset.mems'];

/** The directories joined (one per hierarchy). Throws if no hierarchy shows `cgroup`. */
export function joinCgroup(pid: number, cgroup: string, mounts: readonly CgroupMount[] = cgroupMounts()): string[] {
  if (!path.isAbsolute(cgroup) || cgroup.split('/').includes('..')) throw new Error(`cgroup ${JSON.stringify(cgroup)}: must be an absolute path without ..`);
  const seen = new Set<string>();
  const joined: string[] = [];
  for (const m of mounts) {
    // A hierarchy mounted twice is joined once.
    const key = m.version === 2 ? 'v2' : [...m.controllers].sort().join(',');
    if (seen.has(key)) continue;
    const rel = path.relative(m.root, cgroup);
    if (rel.startsWith('..')) continue;
    seen.add(key);
    const dir = path.join(m.mountPoint, rel);
    makeLevels(m, rel);
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), `${pid}\n`);
    joined.push(dir);
  }
  if (joined.length === 0) throw new Error(`cgroup ${cgroup}: no cgroup hierarchy here shows it`);
  return joined;
}

/** mkdir each missing level; in a v1 cpuset hierarchy a new level inherits its parent's cpus and mems. */
function makeLevels(m: CgroupMount, rel: string): void {
  let dir = m.mountPoint;
  for (const part of rel.split('/').filter(Boolean)) {
    const parent = dir;
    dir = path.join(dir, part);
    if (fs.existsSync(dir)) continue;
    fs.mkdirSync(dir);
    if (m.version !== 1 || !m.controllers.includes('cpuset')) continue;
    for (const f of CPUSET_FILES) {
      if (fs.readFileSync(path.join(dir, f), 'utf8').trim() === '') fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(parent, f), 'utf8'));
    }
  }
}

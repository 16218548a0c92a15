import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { joinCgroup } from '../../src/cgroups/join.js';
import type { CgroupMount } from '../../src/cgroups/mounts.js';
import { tempDir } from '../helpers/tmp.js';

/** A fake hierarchy: plain directories, a cpuset whose new levels start empty as the kernel's do. */
function fakeMounts(t: Parameters<typeof tempDir>[0]): CgroupMount[] {
  const dir = tempDir(t);
  const mk = (name: string) => {
    fs.mkdirSync(path.join(dir, name));
    return path.join(dir, name);
  };
  const cpuset = mk('cpuset');
  fs.writeFileSync(path.join(cpuset, 'cpuset.cpus'), '0-1\n');
  fs.writeFileSync(path.join(cpuset, 'cpuset.mems'), '0\n');
  return [
    { mountPoint: cpuset, root: '/', version: 1, controllers: ['cpuset'] },
    { mountPoint: mk('memory'), root: '/', version: 1, controllers: ['memory'] },
    { mountPoint: path.join(dir, 'memory'), root: '/', version: 1, controllers: ['memory'] },
    { mountPoint: mk('unified'), root: '/', version: 2, controllers: [] },
    { mountPoint: mk('nested'), root: '/elsewhere', version: 1, controllers: ['pids'] },
  ];
}

t.test('joins every hierarchy that shows the path, once each, creating missing levels', async (t) => {
  const mounts = fakeMounts(t);
  // The kernel makes these files in a new cpuset cgroup, empty; here mkdir makes none, so
  // create them empty as the kernel would as soon as a level exists.
  const realMkdir = fs.mkdirSync;
  t.teardown(() => void (fs.mkdirSync = realMkdir));
  fs.mkdirSync = ((p: fs.PathLike, o?: fs.MakeDirectoryOptions) => {
    const r = realMkdir(p, o);
    if (String(p).startsWith(mounts[0]!.mountPoint)) for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(String(p), f), '');
    return r;
  }) as typeof fs.mkdirSync;
  const joined = joinCgroup(4242, '/pods/shim', mounts);
  t.same(
    joined,
    [path.join(mounts[0]!.mountPoint, 'pods/shim'), path.join(mounts[1]!.mountPoint, 'pods/shim'), path.join(mounts[3]!.mountPoint, 'pods/shim')],
    'cpuset, memory once, v2; not a hierarchy whose root hides the path',
  );
  for (const d of joined) t.equal(fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8'), '4242\n');
  t.equal(fs.readFileSync(path.join(joined[0]!, 'cpuset.cpus'), 'utf8'), '0-1\n', "a new cpuset level takes its parent's cpus");
  t.equal(fs.readFileSync(path.join(mounts[0]!.mountPoint, 'pods', 'cpuset.mems'), 'utf8'), '0\n', 'and every level between');
});

t.test('refuses a relative path, .., or a path no hierarchy shows', async (t) => {
  const mounts = fakeMounts(t);
  t.throws(() => joinCgroup(1, 'pods/shim', mounts), /absolute/);
  t.throws(() => joinCgroup(1, '/pods/../x', mounts), /absolute/);
  t.throws(() => joinCgroup(1, '/x', [mounts[4]!]), /no cgroup hierarchy/);
});

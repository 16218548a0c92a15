import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ErrorKind } from '../../src/errors/index.js';
import { cgroupFromSpecPath, cgroupOf, parseProcCgroup, systemdCgroupPath } from '../../src/cgroups/locate.js';
import { type CgroupMount, cgroupMounts } from '../../src/cgroups/mounts.js';
import { detectCgroupMode } from '../../src/cgroups/mode.js';
import { tempDir } from '../helpers/tmp.js';

t.test('parseProcCgroup', async (t) => {
  const lines = parseProcCgroup('12:cpu,cpuacct:/a/b\n4:memory:/a:b/c\n1:name=systemd:/x\n0::/a/b (deleted)\n');
  t.same(lines, [
    { hierarchyId: 12, controllers: ['cpu', 'cpuacct'], path: '/a/b' },
    { hierarchyId: 4, controllers: ['memory'], path: '/a:b/c' },
    { hierarchyId: 1, controllers: ['name=systemd'], path: '/x' },
    { hierarchyId: 0, controllers: [], path: '/a/b' },
  ]);
});

t.test('systemdCgroupPath follows runc', async (t) => {
  t.equal(systemdCgroupPath('kubepods-burstable-pod12.slice:cri-containerd:abc'), '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-abc.scope');
  t.equal(systemdCgroupPath(':runc:abc'), '/system.slice/runc-abc.scope', 'empty slice is system.slice');
  t.equal(systemdCgroupPath('-.slice::abc'), '/abc.scope', 'the root slice, no prefix');
  t.equal(systemdCgroupPath('user.slice:x:my.slice'), '/user.slice/my.slice', 'a slice name is used as is');
  for (const bad of ['a--b.slice:p:n', 'notaslice:p:n', 'a/b.slice:p:n', 'a.slice:p:', 'a:b']) {
    t.throws(() => systemdCgroupPath(bad), { kind: ErrorKind.InvalidArgument, message: /linux.cgroupsPath/ }, bad);
  }
});

/** A fake hierarchy: a temp dir standing in for each mount point, with the mounts naming them. */
function fakeHost(t: Test, layout: 'hybrid' | 'v2') {
  const root = tempDir(t);
  const mk = (p: string) => {
    fs.mkdirSync(path.join(root, p), { recursive: true });
    return path.join(root, p);
  };
  const mounts: CgroupMount[] =
    layout === 'v2'
      ? [{ mountPoint: mk('unified'), root: '/', version: 2, controllers: [] }]
      : [
          { mountPoint: mk('cpu,cpuacct'), root: '/', version: 1, controllers: ['cpu', 'cpuacct'] },
          { mountPoint: mk('memory'), root: '/', version: 1, controllers: ['memory'] },
          // A container's view: this mount shows only /outer and deeper.
          { mountPoint: mk('pids'), root: '/outer', version: 1, controllers: ['pids'] },
          { mountPoint: mk('unified'), root: '/', version: 2, controllers: [] },
        ];
  return { root, mk, mounts };
}

t.test('cgroupFromSpecPath resolves against the mount table', async (t) => {
  const h = fakeHost(t, 'hybrid');
  h.mk('cpu,cpuacct/outer/ctr');
  h.mk('memory/outer/ctr');
  h.mk('pids/ctr');
  h.mk('unified/outer/ctr');
  const cg = cgroupFromSpecPath('/outer/ctr', { mounts: h.mounts });
  t.same(cg, {
    version: 1,
    paths: {
      cpu: path.join(h.root, 'cpu,cpuacct/outer/ctr'),
      cpuacct: path.join(h.root, 'cpu,cpuacct/outer/ctr'),
      memory: path.join(h.root, 'memory/outer/ctr'),
      pids: path.join(h.root, 'pids/ctr'),
    },
    unified: path.join(h.root, 'unified/outer/ctr'),
  });

  t.throws(() => cgroupFromSpecPath('/outer/gone', { mounts: h.mounts }), { kind: ErrorKind.NotFound, message: /no cgroup directory exists \(looked for .*memory\/outer\/gone/ });
  t.throws(() => cgroupFromSpecPath('', { mounts: h.mounts }), { kind: ErrorKind.FailedPrecondition, message: /empty/ });

  const v2 = fakeHost(t, 'v2');
  v2.mk('unified/system.slice/runc-abc.scope');
  t.same(cgroupFromSpecPath(':runc:abc', { mounts: v2.mounts }), { version: 2, path: path.join(v2.root, 'unified/system.slice/runc-abc.scope') });
  t.throws(() => cgroupFromSpecPath('/default/abc', { mounts: v2.mounts }), { kind: ErrorKind.NotFound, message: /default\/abc/ });
  t.same(cgroupFromSpecPath('/a/../../..', { mounts: v2.mounts }), { version: 2, path: v2.mounts[0]!.mountPoint }, 'dot-dots stop at the root');
});

t.test('a relative cgroupsPath is under our own cgroup, as runc reads it', async (t) => {
  const h = fakeHost(t, 'hybrid');
  const own = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  const memLine = own.find((l) => l.controllers.includes('memory'));
  if (!memLine) return t.plan(0, 'not in a v1 memory hierarchy');
  const want = h.mk(path.join('memory', memLine.path, 'child/ctr'));
  const cg = cgroupFromSpecPath('child/ctr', { mounts: h.mounts });
  t.equal(cg.version === 1 ? cg.paths.memory : undefined, want);
});

t.test('cgroupOf a live process on this machine', async (t) => {
  const cg = cgroupOf(process.pid);
  const mode = detectCgroupMode();
  t.equal(cg.version, mode === 'v2' ? 2 : 1);
  const own = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  if (cg.version === 1) {
    const memLine = own.find((l) => l.controllers.includes('memory'));
    const memMount = cgroupMounts().find((m) => m.version === 1 && m.controllers.includes('memory'));
    if (memLine && memMount?.root === '/') t.equal(cg.paths.memory, path.join(memMount.mountPoint, memLine.path));
    for (const dir of Object.values(cg.paths)) t.ok(fs.statSync(dir).isDirectory(), dir);
    if (mode === 'hybrid') t.ok(cg.unified && fs.existsSync(cg.unified), 'the unified directory too');
  } else {
    t.ok(fs.statSync(cg.path).isDirectory());
  }
});

t.test('cgroupOf a process that is gone is notFound', async (t) => {
  const child = spawn('true');
  const pid = child.pid!;
  await new Promise((r) => child.on('exit', r));
  t.throws(() => cgroupOf(pid), { kind: ErrorKind.NotFound, message: new RegExp(`process ${pid}`) });
  t.throws(() => cgroupOf(0), { kind: ErrorKind.InvalidArgument, message: /positive integer/ });
});

t.test('cgroupOf with a mount table that does not show the cgroup', async (t) => {
  const h = fakeHost(t, 'v2');
  const mounts = [{ ...h.mounts[0]!, root: '/switchyard-nowhere' }];
  t.throws(() => cgroupOf(process.pid, { mounts }), { kind: ErrorKind.FailedPrecondition, message: /outside every mounted cgroup2/ });
});

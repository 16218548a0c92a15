import fs from 'node:fs';
import t from 'tap';
import { ErrorKind } from '../../src/errors/index.js';
import { detectCgroupMode } from '../../src/cgroups/mode.js';
import { cgroupMounts, parseMountInfo } from '../../src/cgroups/mounts.js';

// Mount tables as the kernel prints them; only the cgroup lines matter.
const HYBRID = `\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,clone_children,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:7 - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate
`;
const UNIFIED = `\
25 18 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const LEGACY = `\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
`;

t.test('parseMountInfo keeps cgroup mounts with their controllers', async (t) => {
  const m = parseMountInfo(HYBRID);
  t.same(
    m.map((x) => [x.mountPoint, x.version, x.controllers]),
    [
      ['/sys/fs/cgroup/cpu,cpuacct', 1, ['cpu', 'cpuacct']],
      ['/sys/fs/cgroup/memory', 1, ['memory']],
      ['/sys/fs/cgroup/pids', 1, ['pids']],
      ['/sys/fs/cgroup/systemd', 1, ['name=systemd']],
      ['/sys/fs/cgroup/unified', 2, []],
    ],
    'flags such as clone_children and xattr are not controllers',
  );
  t.ok(m.every((x) => x.root === '/'));
});

t.test('parseMountInfo: container view, escapes, optional fields', async (t) => {
  const text = '1 0 0:5 /kubepods/pod1/abc /sys/fs/cgroup/my\\040mem rw shared:1 master:2 - cgroup cgroup rw,memory\n';
  t.same(parseMountInfo(text), [{ mountPoint: '/sys/fs/cgroup/my mem', root: '/kubepods/pod1/abc', version: 1, controllers: ['memory'] }]);
});

t.test('detectCgroupMode', async (t) => {
  t.equal(detectCgroupMode(parseMountInfo(HYBRID)), 'hybrid');
  t.equal(detectCgroupMode(parseMountInfo(UNIFIED)), 'v2');
  t.equal(detectCgroupMode(parseMountInfo(LEGACY)), 'v1');
  const namedOnly = `${UNIFIED}40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n`;
  t.equal(detectCgroupMode(parseMountInfo(namedOnly)), 'v2', 'a named v1 hierarchy controls nothing');
  t.throws(() => detectCgroupMode([]), { kind: ErrorKind.FailedPrecondition, message: /no cgroup filesystem/ });
});

t.test('this machine', async (t) => {
  const mode = detectCgroupMode();
  t.match(mode, /^(v1|v2|hybrid)$/);
  const mounts = cgroupMounts();
  t.equal(cgroupMounts(), mounts, 'read once');
  const unified = mounts.find((m) => m.version === 2);
  if (mode === 'hybrid' && unified) t.ok(fs.existsSync(`${unified.mountPoint}/cgroup.procs`));
  t.comment(`cgroup mode here: ${mode}`);
});

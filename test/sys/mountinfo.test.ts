import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { isMountPoint, parseMountInfoLines } from '../../src/sys/mountinfo.js';
import { tempDir } from '../helpers/tmp.js';

const TABLE = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory',
  // optional fields vary in number; paths octal-escape spaces
  '41 22 0:45 / /tmp/with\\040space/rootfs rw master:3 propagate_from:2 - overlay overlay rw,lowerdir=/a',
  'garbage line',
].join('\n');

t.test('parses mount points, roots, types and super options past the optional fields', async (t) => {
  const m = parseMountInfoLines(TABLE);
  t.equal(m.length, 3, 'the garbage line is skipped');
  t.same(m[1], { root: '/', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: 'rw,memory' });
  t.equal(m[2]!.mountPoint, '/tmp/with space/rootfs');
  t.equal(m[2]!.fsType, 'overlay');
});

t.test('isMountPoint compares the resolved path with the table', async (t) => {
  const dir = tempDir(t);
  const table = path.join(dir, 'mountinfo');
  const target = path.join(dir, 'rootfs');
  fs.mkdirSync(target);
  fs.symlinkSync(target, path.join(dir, 'link'));
  fs.writeFileSync(table, `22 1 8:1 / / rw - ext4 /dev/sda1 rw\n41 22 0:45 / ${fs.realpathSync(target)} rw - overlay overlay rw\n`);
  t.ok(isMountPoint(target, table));
  t.ok(isMountPoint(path.join(dir, 'link'), table), 'through a symlink');
  t.notOk(isMountPoint(dir, table), 'its parent is not');
  t.notOk(isMountPoint(path.join(dir, 'missing'), table), 'a missing path is not');
  t.ok(isMountPoint('/'), 'the real table has /');
});

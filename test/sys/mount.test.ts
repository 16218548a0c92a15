// unmountAll and its worker-thread twin on real mounts (root): a stack of mounts all goes,
// and a target with nothing mounted, or no target at all, is fine.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { mount, unmountAll, unmountAllOffLoop } from '../../src/sys/mount.js';
import { isMountPoint } from '../../src/sys/mountinfo.js';
import { requireRoot } from '../e2e/lib/prereq.js';
import { tempDir } from '../helpers/tmp.js';

if (requireRoot(t)) {
  for (const [how, unmount] of [
    ['on the loop', async (p: string) => unmountAll(p)],
    ['off the loop', unmountAllOffLoop],
  ] as const) {
    t.test(`${how}: two tmpfs stacked on one target both go`, async (t) => {
      const target = path.join(tempDir(t, 'switchyard-mount-'), 'rootfs');
      fs.mkdirSync(target);
      t.teardown(() => unmountAll(target));
      mount({ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }, target);
      mount({ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }, target);
      t.ok(isMountPoint(target));
      await unmount(target);
      t.notOk(isMountPoint(target), 'nothing mounted there');
    });

    t.test(`${how}: nothing mounted, or no such path: no error`, async (t) => {
      const dir = tempDir(t, 'switchyard-mount-');
      await unmount(dir);
      await unmount(path.join(dir, 'missing'));
      t.pass();
    });
  }
}

import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { cacheFile, containerdVersion, parseVersionLine } from '../../src/shim/containerd-version.js';
import { tempDir } from '../helpers/tmp.js';

t.test('containerd --version lines of 1.6, 1.7 and 2.1 (Debian builds)', async (t) => {
  t.match(parseVersionLine('containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n'), { major: 1, minor: 6, text: '1.6.20~ds1' });
  t.match(parseVersionLine('containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1'), { major: 1, minor: 7 });
  t.match(parseVersionLine('containerd github.com/containerd/containerd/v2 2.1.9+unknown '), { major: 2, minor: 1, text: '2.1.9+unknown' });
  t.match(parseVersionLine('containerd containerd.io v1.7.2 0cae528'), undefined, 'not the upstream module path');
  t.equal(parseVersionLine('bash: no such file'), undefined);
  t.equal(parseVersionLine(''), undefined);
});

t.test('read once per binary, cached by its identity; a replaced binary is read again', async (t) => {
  const dir = tempDir(t);
  const state = path.join(dir, 'state');
  const bin = path.join(dir, 'containerd');
  const counter = path.join(dir, 'runs');
  const fake = (version: string) =>
    fs.writeFileSync(bin, `#!/bin/sh\necho x >> ${counter}\necho "containerd github.com/containerd/containerd/v2 ${version} abc"\n`, { mode: 0o755 });
  fake('2.1.9');
  const runs = () => fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).length;
  t.match(await containerdVersion(bin, state), { major: 2, minor: 1 });
  t.match(await containerdVersion(bin, state), { major: 2, minor: 1 });
  t.equal(runs(), 1, 'the binary ran once');
  t.ok(fs.existsSync(cacheFile(state, bin)!), 'cache file under the state dir');
  // Replaced (another inode, size and mtime), as a package upgrade does.
  fs.rmSync(bin);
  fake('2.2.0-long');
  t.match(await containerdVersion(bin, state), { major: 2, minor: 2 });
  t.equal(runs(), 2, 'read again after the replacement');
});

t.test('no answer for what is not containerd', async (t) => {
  const dir = tempDir(t);
  t.equal(await containerdVersion('', dir), undefined);
  t.equal(await containerdVersion('relative/containerd', dir), undefined);
  t.equal(await containerdVersion('/bin/true', dir), undefined);
  t.equal(await containerdVersion(path.join(dir, 'missing'), dir), undefined);
});

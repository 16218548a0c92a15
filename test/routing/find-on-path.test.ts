import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { findOnPath, availableOnPath } from '../../src/routing/find-on-path.js';
import { defaults } from '../../src/config/config.js';
import { tempDir } from '../helpers/tmp.js';

t.test('findOnPath', async (t) => {
  const dir = tempDir(t);
  const bin = path.join(dir, 'bin');
  const other = path.join(dir, 'other');
  fs.mkdirSync(bin);
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(bin, 'runsc'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'crun'), 'not executable', { mode: 0o644 });
  fs.mkdirSync(path.join(other, 'runc'));
  fs.writeFileSync(path.join(other, 'crun'), '#!/bin/sh\n', { mode: 0o755 });
  const PATH = ['', 'relative', bin, other].join(':');

  t.equal(findOnPath('runsc', PATH), path.join(bin, 'runsc'));
  t.equal(findOnPath('crun', PATH), path.join(other, 'crun'), 'a non-executable file is skipped');
  t.equal(findOnPath('runc', PATH), undefined, 'a directory is not a binary');
  t.equal(findOnPath(path.join(bin, 'runsc'), ''), path.join(bin, 'runsc'), 'an absolute path is checked as is');
  t.equal(findOnPath(path.join(bin, 'crun'), PATH), undefined);
  t.equal(findOnPath('', PATH), undefined);

  // Empty and relative PATH entries would resolve against the bundle directory.
  const cwd = process.cwd();
  process.chdir(bin);
  t.teardown(() => process.chdir(cwd));
  t.equal(findOnPath('runsc', ':relative'), undefined, 'the working directory is never searched');
  t.equal(findOnPath('./runsc', PATH), undefined, 'nor a relative path');

  const available = availableOnPath(PATH);
  t.equal(available(defaults.runtimes.runsc!), true);
  t.equal(available(defaults.runtimes.runc!), false);
  t.equal(available({ name: 'kata', type: 'shim', binary: path.join(other, 'crun') }), true);
});

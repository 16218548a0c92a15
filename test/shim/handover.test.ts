import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { CLAIM_TTL_MS, clearClaim, freshClaims, handoverLockName, writeClaim } from '../../src/shim/handover.js';
import { tempDir } from '../helpers/tmp.js';

t.test('a claim holds until its Create clears it or it goes stale', async (t) => {
  const dir = tempDir(t);
  t.same(freshClaims(dir), [], 'no claims dir: none');
  writeClaim(dir, 'a');
  writeClaim(dir, 'b/../c');
  t.same(freshClaims(dir).sort(), ['a', 'b/../c'], 'ids kept exactly, even unusual ones');
  clearClaim(dir, 'a');
  t.same(freshClaims(dir), ['b/../c']);
  t.same(freshClaims(dir, Date.now() + CLAIM_TTL_MS + 1), [], 'stale after the TTL');
  t.same(fs.readdirSync(path.join(dir, 'claims')), [], 'and removed');
});

t.test('a claim file never escapes the claims dir', async (t) => {
  const dir = tempDir(t);
  writeClaim(dir, '..');
  writeClaim(dir, '.hidden');
  t.same(fs.readdirSync(dir), ['claims']);
  t.same(freshClaims(dir).sort(), ['..', '.hidden']);
});

t.test('the lock name is per socket and fits an abstract socket name', async (t) => {
  t.not(handoverLockName('/run/containerd/s/a'), handoverLockName('/run/containerd/s/b'));
  t.ok(handoverLockName('/x').length < 100);
});

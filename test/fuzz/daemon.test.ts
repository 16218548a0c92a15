import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../e2e/lib/image.js';
import { tempDir } from '../helpers/tmp.js';
import { fuzz, input, Rng, startDaemon } from './fuzz.js';

t.test('the fuzzer is deterministic for a seed', async (t) => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 50; i++) t.same(input(a), input(b));
});

t.test('access: the daemon socket is 0600 and its state dir 0700, both root\'s', async (t) => {
  const dir = tempDir(t);
  const d = await startDaemon(dir, repoRoot());
  t.teardown(() => d.stop());
  const sock = fs.statSync(d.socket);
  t.equal(sock.mode & 0o777, 0o600);
  t.equal(sock.uid, 0);
  const daemons = path.join(dir, 'state', 'daemons');
  for (const name of fs.readdirSync(daemons)) t.equal(fs.statSync(path.join(daemons, name)).mode & 0o777, 0o700, `state dir ${name}`);
});

t.test('a short seeded pass: no crash, and a healthy client is answered throughout', async (t) => {
  const d = await startDaemon(tempDir(t), repoRoot());
  t.teardown(() => d.stop());
  const r = await fuzz(d, 20261122, 3000, 100, (s) => t.comment(s));
  t.equal(r.crashes, 0, 'the daemon survived');
  t.equal(r.unanswered, 0, 'other clients kept being served');
  t.equal(r.tried, 3000);
  t.comment(`rss ${r.rssBeforeKiB} KiB -> ${r.rssAfterKiB} KiB`);
});

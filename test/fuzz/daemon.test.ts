import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../e2e/lib/image.js';
import { needsRoot } from '../helpers/root.js';
import { tempDir } from '../helpers/tmp.js';
import { fuzz, input, Rng, startDaemon } from './fuzz.js';

t.test('the fuzzer is deterministic for a seed', async (t) => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 50; i++) t.same(input(a), input(b));
});

// `start` binds under containerd's fixed /run/containerd/s, which only root may write.
const daemonNeedsRoot = needsRoot('start binds the daemon socket under /run/containerd/s');

t.test('access: the daemon socket is 0600 and its state dir 0700, both root\'s', { skip: daemonNeedsRoot }, async (t) => {
  const dir = tempDir(t);
  const d = await startDaemon(dir, repoRoot());
  t.teardown(() => d.stop());
  const sock = fs.statSync(d.socket);
  t.equal(sock.mode & 0o777, 0o600);
  t.equal(sock.uid, 0, 'the socket belongs to root, as containerd runs the shim');
  const daemons = path.join(dir, 'state', 'daemons');
  const names = fs.readdirSync(daemons);
  t.ok(names.length > 0, 'the daemon made its state dir');
  for (const name of names) {
    const st = fs.statSync(path.join(daemons, name));
    t.equal(st.mode & 0o777, 0o700, `state dir ${name}`);
    t.equal(st.uid, 0, `state dir ${name} belongs to root`);
  }
});

t.test('a short seeded pass: no crash, and a healthy client is answered throughout', { skip: daemonNeedsRoot }, async (t) => {
  const d = await startDaemon(tempDir(t), repoRoot());
  t.teardown(() => d.stop());
  const r = await fuzz(d, 20261122, 3000, 100, (s) => t.comment(s));
  t.equal(r.crashes, 0, 'the daemon survived');
  t.equal(r.unanswered, 0, 'other clients kept being served');
  t.equal(r.tried, 3000);
  t.comment(`rss ${r.rssBeforeKiB} KiB -> ${r.rssAfterKiB} KiB`);
});

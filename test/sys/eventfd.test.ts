import fs from 'node:fs';
import t from 'tap';
import { eventfd, isNonBlocking, readEventfd, waitReadable, writeEventfd } from '../../src/sys/index.js';

t.test('an eventfd counts, resets on read, and never blocks', async (t) => {
  const fd = eventfd();
  t.teardown(() => fs.closeSync(fd));
  t.ok(isNonBlocking(fd));
  t.equal(readEventfd(fd), null, 'nothing yet: EAGAIN, not a blocked thread');
  writeEventfd(fd, 2);
  writeEventfd(fd, 3n);
  t.equal(readEventfd(fd), 5n, 'writes add up');
  t.equal(readEventfd(fd), null, 'the read reset it');
});

t.test('waitReadable wakes on a write, on the event loop', async (t) => {
  const fd = eventfd();
  t.teardown(() => fs.closeSync(fd));
  setTimeout(() => writeEventfd(fd), 20);
  await waitReadable(fd, { timeoutMs: 5000 });
  t.equal(readEventfd(fd), 1n);
  await t.rejects(waitReadable(fd, { timeoutMs: 30 }), { code: 'ETIMEDOUT' }, 'not readable once drained');
});

t.test('an initial value and close-on-exec', async (t) => {
  const fd = eventfd(7);
  t.teardown(() => fs.closeSync(fd));
  t.equal(readEventfd(fd), 7n);
  const flags = parseInt(/flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
  t.ok(flags & 0o2000000, 'O_CLOEXEC set: no child we spawn inherits it');
});

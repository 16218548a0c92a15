// spawnFast against what child_process gives a runtime: the same output, exit and argv0,
// and what libuv does in its child (default signal actions, empty mask, only fds 0–2).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fastSpawnable, spawnFast, type SpawnedChild } from '../../src/sys/spawn.js';
import { Reaper } from '../../src/sys/reaper.js';
import { libc } from '../../src/sys/libc.js';
import { tempDir } from '../helpers/tmp.js';

const reaper = new Reaper({ sweepDelayMs: 0 });
reaper.start();
t.teardown(() => reaper.stop());
const watch = (pid: number) => reaper.watch(pid);

async function outcome(child: SpawnedChild): Promise<{ code: number | null; out: string; err: string; error?: NodeJS.ErrnoException }> {
  let out = '';
  let err = '';
  let error: NodeJS.ErrnoException | undefined;
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.once('error', (e: NodeJS.ErrnoException) => (error = e));
  // Not events.once: it rejects on 'error', which child_process also follows with 'close'.
  const code = await new Promise<number | null>((r) => child.once('close', r));
  return { code, out, err, error };
}

const sh = (script: string, stdio: Parameters<typeof spawnFast>[2]['stdio'] = ['ignore', 'pipe', 'pipe'], argv0 = 'sh') =>
  spawnFast('/bin/sh', ['-c', script], { argv0, stdio }, watch);

t.test('stdout, stderr and the exit code, as child_process reports them', async (t) => {
  const r = await outcome(sh('echo out; echo err >&2; exit 3'));
  t.same(r, { code: 3, out: 'out\n', err: 'err\n', error: undefined });
});

t.test('argv0 is the name given, not the file', async (t) => {
  const r = await outcome(sh(`tr '\\0' ' ' < /proc/$$/cmdline`, undefined, 'my-runtime'));
  t.match(r.out, /^my-runtime -c /);
});

t.test('no signal ignored or blocked in the child (Node ignores SIGPIPE; glibc keeps 32 and 33 unless told)', async (t) => {
  // child_process resets signals 1–31 only: what its parent ignores above them (make, a
  // shell) stays ignored there. A runtime here starts as from a fresh fork/exec in Go.
  // exec: the shell itself blocks signals for moments while it forks and waits; read after
  // it hands over, in the process the spawn's attributes made.
  const r = await outcome(sh(`exec grep -E '^Sig(Ign|Blk)' /proc/self/status`));
  t.match(r.out, /SigBlk:\s+0{16}\n/);
  t.match(r.out, /SigIgn:\s+0{16}\n/);
});

t.test('a descriptor of ours without close-on-exec does not reach the child', async (t) => {
  // F_DUPFD (0): a copy without close-on-exec, as an inherited listening socket is.
  const fd = libc().fcntl(0, 0, 'int', 10);
  t.ok(fd >= 10, `fd ${fd}`);
  t.teardown(() => fs.closeSync(fd));
  const r = await outcome(sh(`test -e /proc/$$/fd/${fd} && echo open || echo closed`));
  t.equal(r.out, 'closed\n');
});

t.test('a slot given as our descriptor: the child writes into it', async (t) => {
  const file = path.join(tempDir(t, 'switchyard-spawn-'), 'out');
  const fd = fs.openSync(file, 'w');
  const r = await outcome(sh('echo into-file; echo err >&2', ['ignore', fd, 'pipe']));
  fs.closeSync(fd);
  t.equal(r.code, 0);
  t.equal(fs.readFileSync(file, 'utf8'), 'into-file\n');
  t.equal(r.err, 'err\n');
});

t.test('a missing file: an ENOENT error, then close', async (t) => {
  const r = await outcome(spawnFast('/nonexistent/runtime', [], { argv0: 'runtime', stdio: ['ignore', 'pipe', 'pipe'] }, watch));
  t.equal(r.error?.code, 'ENOENT');
  t.match(r.error?.message, /spawn \/nonexistent\/runtime ENOENT/);
});

t.test('kill: the status of the signal', async (t) => {
  const child = sh('exec sleep 30');
  const done = outcome(child);
  t.ok(child.kill('SIGKILL'));
  t.equal((await done).code, 137);
  t.notOk(child.kill('SIGKILL'), 'nothing to kill after the exit');
});

t.test('what needs child_process is named', async (t) => {
  t.ok(fastSpawnable('/bin/true', { argv0: 'true', stdio: ['ignore', 'pipe', 7] }));
  t.notOk(fastSpawnable('true', { argv0: 'true', stdio: ['ignore', 'pipe', 'pipe'] }), 'a name without a path');
  t.notOk(fastSpawnable('/bin/true', { argv0: 'true', stdio: ['pipe', 'pipe', 'pipe'] }), 'input through stdin');
  t.notOk(fastSpawnable('/bin/true', { argv0: 'true', stdio: ['ignore', 2, 'pipe'] }), 'a slot from 0–2');
  t.throws(() => spawnFast('true', [], { argv0: 'true', stdio: ['ignore', 'pipe', 'pipe'] }, watch), RangeError);
});

t.test('many at once: every output with its own exit', async (t) => {
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => outcome(sh(`echo ${i}; exit ${i}`))));
  t.same(rs.map((r) => [r.out, r.code]), Array.from({ length: 20 }, (_, i) => [`${i}\n`, i]));
});

/**
 * The `delete` binary as containerd 1.6 runs it after every task (its connection to the
 * shim closed): cheap when the daemon already cleaned up, thorough when it could not.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { containerd } from '../../src/gen/proto.js';
import { markTaskDeleted, writeTaskRecord } from '../../src/backends/record.js';
import { repoRoot } from '../e2e/lib/image.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

function setup(t: Test) {
  const dir = tempDir(t);
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  // A runtime that only writes down how it was called.
  const calls = path.join(dir, 'calls');
  const runtime = path.join(dir, 'fake-runc');
  fs.writeFileSync(runtime, `#!/bin/sh\necho "$*" >> ${calls}\n`, { mode: 0o755 });
  const del = async () => {
    const p = run(process.execPath, [path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs'), '-namespace', 'ns1', '-id', 'd1', '-address', path.join(dir, 'c.sock'), '-publish-binary', '/bin/true', 'delete'], {
      cwd: bundle,
      encoding: 'buffer',
      env: { PATH: process.env.PATH },
    });
    p.child.stdin?.end();
    const { stdout } = await p;
    return containerd.task.v2.DeleteResponse.decode(stdout);
  };
  const record = { id: 'd1', namespace: 'ns1', runtime: 'runc', binary: runtime, root: path.join(dir, 'root') };
  return { bundle, calls, runtime, record, del };
}

t.test('after the daemon deleted the task: no runtime call, and the exit the daemon saw', async (t) => {
  const s = setup(t);
  writeTaskRecord(s.bundle, s.record);
  markTaskDeleted(s.bundle, { pid: 4242, exitStatus: 3, exitedAt: new Date('2026-11-22T10:00:00.250Z') });
  const r = await s.del();
  t.equal(r.pid, 4242);
  t.equal(r.exitStatus, 3);
  t.equal(Number(r.exitedAt?.seconds), Date.parse('2026-11-22T10:00:00Z') / 1000);
  t.equal(r.exitedAt?.nanos, 250_000_000);
  t.notOk(fs.existsSync(s.calls), 'the runtime was not run');
});

t.test('after the daemon died: the runtime deletes the container, and the exit is SIGKILL', async (t) => {
  const s = setup(t);
  writeTaskRecord(s.bundle, s.record);
  fs.writeFileSync(path.join(s.bundle, 'init.pid'), '777');
  const r = await s.del();
  t.equal(r.pid, 777);
  t.equal(r.exitStatus, 137);
  t.equal(fs.readFileSync(s.calls, 'utf8'), `--root ${s.record.root} delete --force d1\n`);
});

t.test('a bundle without a record (Create failed early): nothing to run, still an answer', async (t) => {
  const s = setup(t);
  const r = await s.del();
  t.equal(r.pid, 0);
  t.equal(r.exitStatus, 137);
  t.notOk(fs.existsSync(s.calls));
});

t.test('a pod\'s namespace holder outlived its daemon: delete kills it, but only that very process', async (t) => {
  const s = setup(t);
  const { spawn } = await import('node:child_process');
  const { readProcStat } = await import('../../src/sys/proc.js');
  const start = () => {
    const c = spawn('sleep', ['1000'], { stdio: 'ignore' });
    t.teardown(() => c.kill('SIGKILL'));
    return c;
  };
  const other = start();
  await new Promise((r) => other.once('spawn', r));
  // The pid is reused by another process (another start time): it is left alone.
  writeTaskRecord(s.bundle, { id: 'd1', namespace: 'ns1', runtime: 'runc', holder: { pid: other.pid!, startTime: readProcStat(other.pid!)!.startTime + 1 } });
  await s.del();
  t.equal(other.exitCode, null, 'a process that merely has the pid is not killed');
  t.ok(readProcStat(other.pid!), 'still there');
  const holder = start();
  await new Promise((r) => holder.once('spawn', r));
  const gone = new Promise((r) => holder.once('exit', (_code, signal) => r(signal)));
  writeTaskRecord(s.bundle, { id: 'd1', namespace: 'ns1', runtime: 'runc', holder: { pid: holder.pid!, startTime: readProcStat(holder.pid!)!.startTime } });
  const res = await s.del();
  t.equal(await gone, 'SIGKILL', 'the holder is killed');
  t.equal(res.exitStatus, 137);
});

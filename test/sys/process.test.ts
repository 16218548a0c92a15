import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeWaitStatus,
  exitStatusCode,
  isChildSubreaper,
  pidfdOpen,
  setChildSubreaper,
  waitpidNoHang,
} from '../../src/sys/process.js';
import { SyscallError } from '../../src/sys/syscall-error.js';
import { spawnOrphan } from './orphans.js';

t.test('wait statuses decode as the W* macros do', async (t) => {
  t.same(decodeWaitStatus(0), { kind: 'exited', code: 0 });
  t.same(decodeWaitStatus(7 << 8), { kind: 'exited', code: 7 });
  t.same(decodeWaitStatus(255 << 8), { kind: 'exited', code: 255 });
  t.same(decodeWaitStatus(9), { kind: 'signaled', signal: 9, coreDumped: false });
  t.same(decodeWaitStatus(6 | 0x80), { kind: 'signaled', signal: 6, coreDumped: true });
  t.throws(() => decodeWaitStatus((19 << 8) | 0x7f), RangeError, 'a stop is no exit');
});

t.test('exit codes follow containerd: 128 + signal', async (t) => {
  t.equal(exitStatusCode({ kind: 'exited', code: 3 }), 3);
  t.equal(exitStatusCode({ kind: 'signaled', signal: 9, coreDumped: false }), 137);
  t.equal(exitStatusCode({ kind: 'signaled', signal: 15, coreDumped: false }), 143);
});

t.test('subreaper: an orphan becomes ours and waitpid collects it', async (t) => {
  setChildSubreaper();
  t.equal(isChildSubreaper(), true);
  const pid = await spawnOrphan(t, `sh -c 'sleep 0.2; exit 42'`);
  t.equal(waitpidNoHang(pid), null, 'still running');
  let got: ReturnType<typeof waitpidNoHang> = null;
  for (let i = 0; i < 500 && !got; i++) {
    got = waitpidNoHang(pid);
    if (!got) await sleep(10);
  }
  t.same(got, { pid, status: { kind: 'exited', code: 42 } });
});

t.test('errors are SyscallErrors naming the call and the errno', async (t) => {
  const err = t.throws(() => waitpidNoHang(1)) as SyscallError;
  t.type(err, SyscallError);
  t.type(err, Error);
  t.match(err, { name: 'SyscallError', syscall: 'waitpid', code: 'ECHILD', errno: 10 });
  t.match(err.message, /^waitpid: ECHILD \(No child processes\)$/);

  t.throws(() => waitpidNoHang(0), { syscall: 'waitpid', code: 'EINVAL' }, 'pid 0 would wait for a process group');
  t.throws(() => waitpidNoHang(-1), { syscall: 'waitpid', code: 'EINVAL' }, 'pid -1 would steal libuv children');
  t.throws(() => pidfdOpen(4_000_000), { syscall: 'pidfd_open', code: 'ESRCH' });
});

t.test('pidfdOpen gives a descriptor for a live process', async (t) => {
  const fd = pidfdOpen(process.pid);
  t.ok(fd > 2);
  (await import('node:fs')).closeSync(fd);
});

import t from 'tap';
import * as sys from '../../src/sys/index.js';

t.test('importing the seam does not load koffi; the first call does', async (t) => {
  t.equal(sys.libcLoaded(), false, 'start/delete pay nothing for importing src/sys');
  t.equal(sys.exitStatusCode({ kind: 'exited', code: 1 }), 1, 'pure helpers stay native-free');
  t.equal(sys.libcLoaded(), false);
  t.equal(typeof sys.isChildSubreaper(), 'boolean');
  t.equal(sys.libcLoaded(), true);
});

t.test('SyscallError', async (t) => {
  const e = new sys.SyscallError('waitpid', 10, 'No child processes');
  t.match(e, { name: 'SyscallError', syscall: 'waitpid', errno: 10, code: 'ECHILD', message: 'waitpid: ECHILD (No child processes)' });
  t.ok(sys.isSyscallError(e));
  t.ok(sys.isSyscallError(e, 'ECHILD'));
  t.notOk(sys.isSyscallError(e, 'ESRCH'));
  t.notOk(sys.isSyscallError(new Error('x')));
  t.equal(sys.errnoName(11), 'EAGAIN', 'the primary name, not EWOULDBLOCK');
  t.equal(sys.errnoName(9999), 'ERRNO_9999');
});

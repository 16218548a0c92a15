import t from 'tap';
import {
  checkpointArgs, createArgs, deleteArgs, execArgs, killArgs, pauseArgs, psArgs, restoreArgs, resumeArgs, startArgs, updateArgs,
} from '../../../src/backends/oci/args.js';

t.test('runc argv as go-runc builds it', async (t) => {
  t.same(createArgs({ id: 'c1', bundle: '/b', pidFile: '/b/init.pid' }), ['create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c1']);
  t.same(createArgs({ id: 'c1', bundle: '/b', pidFile: '/p', consoleSocket: '/s', noPivot: true, noNewKeyring: true }), [
    'create', '--bundle', '/b', '--pid-file', '/p', '--console-socket', '/s', '--no-pivot', '--no-new-keyring', 'c1',
  ]);
  t.same(startArgs('c1'), ['start', 'c1']);
  t.same(killArgs('c1', 15, false), ['kill', 'c1', '15']);
  t.same(killArgs('c1', 9, true), ['kill', '--all', 'c1', '9']);
  t.same(deleteArgs('c1', true), ['delete', '--force', 'c1']);
  t.same(psArgs('c1'), ['ps', '--format', 'json', 'c1']);
});

t.test('exec, pause, resume, update, checkpoint and restore argv', async (t) => {
  t.same(execArgs({ id: 'c1', processFile: '/b/e1.json', pidFile: '/b/e1.pid' }), ['exec', '--process', '/b/e1.json', '--detach', '--pid-file', '/b/e1.pid', 'c1']);
  t.same(execArgs({ id: 'c1', processFile: '/p', pidFile: '/q', consoleSocket: '/s' }), ['exec', '--process', '/p', '--detach', '--pid-file', '/q', '--console-socket', '/s', 'c1']);
  t.same(pauseArgs('c1'), ['pause', 'c1']);
  t.same(resumeArgs('c1'), ['resume', 'c1']);
  t.same(updateArgs('c1', '/b/r.json'), ['update', '--resources', '/b/r.json', 'c1']);
  t.same(checkpointArgs('c1', { imagePath: '/img' }), ['checkpoint', '--image-path', '/img', 'c1']);
  t.same(
    checkpointArgs('c1', { imagePath: '/img', workPath: '/w', leaveRunning: true, tcpEstablished: true, externalUnixSockets: true, shellJob: true, fileLocks: true, emptyNamespaces: ['network'], cgroupsMode: 'soft' }),
    ['checkpoint', '--image-path', '/img', '--work-path', '/w', '--tcp-established', '--ext-unix-sk', '--shell-job', '--file-locks', '--empty-ns', 'network', '--manage-cgroups-mode', 'soft', '--leave-running', 'c1'],
  );
  t.same(restoreArgs({ id: 'c1', bundle: '/b', pidFile: '/b/init.pid', imagePath: '/img', workPath: '/w' }), [
    'restore', '--detach', '--image-path', '/img', '--work-path', '/w', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c1',
  ]);
});

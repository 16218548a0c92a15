import t from 'tap';
import { flavourGlobalArgs, launch, parseWaitOutput, stdioAtStart } from '../../../src/backends/oci/flavour.js';

t.test('global flags as each runtime spells them', async (t) => {
  t.same(flavourGlobalArgs('runc', { root: '/run/r/ns', log: '/b/log.json' }), ['--root', '/run/r/ns', '--log', '/b/log.json', '--log-format', 'json']);
  t.same(flavourGlobalArgs('crun', { root: '/r', systemdCgroup: true, extra: ['--debug'] }), ['--root', '/r', '--systemd-cgroup', '--debug']);
  // gVisor's shim writes runsc's globals as --key=value, its runsc_config entries after them.
  t.same(flavourGlobalArgs('runsc', { root: '/run/runsc/ns', log: '/b/log.json', extra: ['--platform=systrap', '--network=host'] }), [
    '--root=/run/runsc/ns', '--log=/b/log.json', '--log-format=json', '--platform=systrap', '--network=host',
  ]);
});

t.test('crun on a hybrid host runs in a private mount namespace without the v2 mount', async (t) => {
  t.same(launch('runc', '/usr/sbin/runc', '/sys/fs/cgroup/unified'), { file: '/usr/sbin/runc', prefix: [] });
  t.same(launch('crun', 'crun'), { file: 'crun', prefix: [] });
  const l = launch('crun', 'crun', '/sys/fs/cgroup/unified');
  t.equal(l.file, 'unshare');
  t.same(l.prefix.slice(0, 4), ['--mount', '--propagation', 'private', '--']);
  t.same(l.prefix.slice(-2), ['/sys/fs/cgroup/unified', 'crun'], 'mount point and runtime go in as parameters, not into the script');
});

t.test('runsc takes a CRI container stdio at start; its wait output gives the exit', async (t) => {
  t.equal(stdioAtStart('runsc', { 'io.kubernetes.cri.container-type': 'container' }), true);
  t.equal(stdioAtStart('runsc', { 'io.kubernetes.cri.container-type': 'sandbox' }), false);
  t.equal(stdioAtStart('runsc', {}), false, 'a bare task is its own sandbox');
  t.equal(stdioAtStart('runc', { 'io.kubernetes.cri.container-type': 'container' }), false);
  t.equal(parseWaitOutput('{"id":"c1","exitStatus":137}'), 137);
  t.throws(() => parseWaitOutput('{"id":"c1"}'));
});

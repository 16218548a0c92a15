import t from 'tap';
import pino from 'pino';
import { defaultConfig } from '../../src/config/config.js';
import { Drivers } from '../../src/shim/drivers.js';

t.test("a task's runc options make a driver of their own; the same options share it", async (t) => {
  const cfg = defaultConfig();
  const d = new Drivers(cfg, 'ns1', pino({ level: 'silent' }));
  const runc = cfg.runtimes.runc as Parameters<Drivers['driver']>[1];
  const plain = d.driver('runc', runc);
  t.equal(d.driver('runc', runc, {}), plain, 'no overrides: the configured driver');
  const own = d.driver('runc', runc, { binary: '/opt/runc', root: '/var/r', systemdCgroup: true, criuPath: '/opt/criu' });
  t.not(own, plain);
  t.equal(d.driver('runc', runc, { binary: '/opt/runc', root: '/var/r', systemdCgroup: true, criuPath: '/opt/criu' }), own, 'shared by equal options');
  t.same(own.cleanupArgv('c1').slice(0, 6), ['/opt/runc', '--root', '/var/r/ns1', '--systemd-cgroup', '--criu', '/opt/criu'], 'binary, <root>/<ns>, flags');
  t.same(plain.cleanupArgv('c1').slice(1, 3), ['--root', `${runc.root}/ns1`]);
});

t.test('runsc takes no runc options', async (t) => {
  const cfg = defaultConfig();
  const d = new Drivers(cfg, 'ns1', pino({ level: 'silent' }));
  const runsc = cfg.runtimes.runsc as Parameters<Drivers['driver']>[1];
  t.equal(d.driver('runsc', runsc, { root: '/elsewhere' }), d.driver('runsc', runsc));
});

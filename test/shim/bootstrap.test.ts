import t from 'tap';
import { addressFileAnswer, bootstrapAnswer, chooseBootstrapVersion } from '../../src/shim/bootstrap.js';
import type { ContainerdVersion } from '../../src/shim/containerd-version.js';

const v = (text: string): ContainerdVersion => ({ major: Number(text.split('.')[0]), minor: Number(text.split('.')[1]), text });
const c16 = v('1.6.20~ds1');
const c17 = v('1.7.24~ds1');
const c21 = v('2.1.9+unknown');

t.test('auto: version 3 only for a containerd known to be 2.x', async (t) => {
  t.equal(chooseBootstrapVersion('auto', c16, 'ttrpc'), 2);
  t.equal(chooseBootstrapVersion('auto', c17, 'ttrpc'), 2);
  t.equal(chooseBootstrapVersion('auto', c21, 'ttrpc'), 3);
  t.equal(chooseBootstrapVersion('auto', v('3.0.0'), 'ttrpc'), 3);
  t.equal(chooseBootstrapVersion('auto', undefined, 'ttrpc'), 2, 'unknown: the answer every containerd takes');
  t.equal(chooseBootstrapVersion('auto', c17, 'grpc'), 2, '1.7 wants gRPC with version 2');
  t.equal(chooseBootstrapVersion('auto', c21, 'grpc'), 3);
  t.equal(chooseBootstrapVersion('auto', undefined, 'grpc'), 3);
});

t.test('an explicit bootstrap_version wins over detection', async (t) => {
  t.equal(chooseBootstrapVersion(2, c21, 'ttrpc'), 2);
  t.equal(chooseBootstrapVersion(3, c17, 'ttrpc'), 3);
  t.equal(chooseBootstrapVersion(3, undefined, 'grpc'), 3);
});

t.test('what start prints', async (t) => {
  const s = '/run/containerd/s/abc';
  t.equal(bootstrapAnswer('ttrpc', 2, s), 'unix:///run/containerd/s/abc');
  t.same(JSON.parse(bootstrapAnswer('ttrpc', 3, s, c21)), { version: 3, address: 'unix:///run/containerd/s/abc', protocol: 'ttrpc' });
  t.throws(() => bootstrapAnswer('grpc', 3, s, c21), { message: /containerd 2\.1\.9\+unknown drops gRPC shim connections.*protocol = "ttrpc", or bootstrap_version = 3/ });
  t.same(JSON.parse(bootstrapAnswer('grpc', 3, s, c21, true)), { version: 3, address: s, protocol: 'grpc' }, 'unless bootstrap_version says so');
  t.same(JSON.parse(bootstrapAnswer('grpc', 3, s)), { version: 3, address: s, protocol: 'grpc' }, 'containerd unknown');
  t.same(JSON.parse(bootstrapAnswer('grpc', 2, s, c17)), { version: 2, address: s, protocol: 'grpc' });
  t.throws(() => bootstrapAnswer('grpc', 2, s, c16), { message: /containerd 1\.6\.20~ds1 cannot use a gRPC shim.*protocol = "ttrpc"/ });
});

t.test('<bundle>/address always holds what containerd 1.6/1.7 read back', async (t) => {
  t.equal(addressFileAnswer('ttrpc', '/s'), 'unix:///s');
  t.same(JSON.parse(addressFileAnswer('grpc', '/s')), { version: 2, address: '/s', protocol: 'grpc' });
});

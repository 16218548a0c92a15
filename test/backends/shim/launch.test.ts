import t from 'tap';
import { google, runtimeoptions } from '../../../src/gen/proto.js';
import { encodeOptions, encodeOptionsAny, parseStartAnswer, shimArgv } from '../../../src/backends/shim/launch.js';

t.test('the delegate is launched with containerd\'s flags', async (t) => {
  t.same(shimArgv({ namespace: 'k8s.io', id: 'c1', address: '/run/containerd/containerd.sock', publishBinary: '/usr/bin/containerd' }, 'start'), [
    '-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'c1', 'start',
  ]);
  t.same(shimArgv({ namespace: 'n', id: 'c', address: 'a', publishBinary: 'p', debug: true }, 'delete').slice(-2), ['-debug', 'delete']);
});

t.test('start answers: plain, JSON bootstrap; anything else refused', async (t) => {
  t.equal(parseStartAnswer('unix:///run/containerd/s/abc\n'), 'unix:///run/containerd/s/abc');
  t.equal(parseStartAnswer('{"version":2,"address":"unix:///run/x","protocol":"ttrpc"}'), 'unix:///run/x');
  t.throws(() => parseStartAnswer('{"version":3,"address":"unix:///run/x","protocol":"grpc"}'), /grpc is not supported/);
  t.throws(() => parseStartAnswer('{"version":2}'), /without an address/);
  t.throws(() => parseStartAnswer('hello'), /unexpected answer/);
});

t.test('runtime options: Kata\'s ConfigPath as runtimeoptions.v1.Options, or nothing', async (t) => {
  t.equal(encodeOptionsAny(undefined), null);
  t.equal(encodeOptions({}).length, 0);
  const any = google.protobuf.Any.decode(encodeOptions({ ConfigPath: '/etc/kata-containers/configuration.toml' }));
  t.equal(any.type_url, 'runtimeoptions.v1.Options');
  t.equal(runtimeoptions.v1.Options.decode(any.value).configPath, '/etc/kata-containers/configuration.toml');
});

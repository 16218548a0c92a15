import t from 'tap';
import { parseConfig, loadConfig, defaults } from '../../src/config/config.js';
import { ErrorKind } from '../../src/errors/index.js';

t.test('defaults with no file', async (t) => {
  t.match(loadConfig(undefined, {}), { ...defaults });
});

t.test('keys', async (t) => {
  t.match(parseConfig('protocol = "grpc"\ngrouping = "pod"\nidle_timeout = "2m"\n', 'c.toml'), { protocol: 'grpc', grouping: 'pod', idleTimeoutMs: 120_000 });
  t.match(parseConfig('idle_timeout = 5', 'c.toml'), { idleTimeoutMs: 5000 });
});

t.test('a bad file is refused with file, line and reason', async (t) => {
  t.throws(() => parseConfig('protocol = "grpc"\ngrouping = "cluster"\n', '/etc/s.toml'), { kind: ErrorKind.InvalidArgument, message: '/etc/s.toml:2: grouping: must be "namespace" or "pod"' });
  t.throws(() => parseConfig('\n\nnope = 1\n', '/etc/s.toml'), { message: '/etc/s.toml:3: nope: unknown key' });
  t.throws(() => parseConfig('protocol = \n', '/etc/s.toml'), { message: /^\/etc\/s\.toml:1:\d+: / });
  t.throws(() => loadConfig('/nonexistent/switchyard.toml', {}), { kind: ErrorKind.FailedPrecondition, message: /\/nonexistent\/switchyard.toml: ENOENT/ });
});

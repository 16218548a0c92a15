import t from 'tap';
import { parseStdio, type StdioRequest } from '../../src/io/uri.js';

const req = (r: Partial<StdioRequest>): StdioRequest => ({ stdin: '', stdout: '', stderr: '', terminal: false, ...r });

function kindOf(fn: () => unknown): { kind?: string; message?: string } {
  try {
    fn();
  } catch (err) {
    return { kind: (err as { kind?: string }).kind, message: (err as Error).message };
  }
  return {};
}

t.test('null IO', async (t) => {
  t.same(parseStdio(req({})), { kind: 'null', terminal: false });
});

t.test('fifo paths; empty streams are null', async (t) => {
  t.same(parseStdio(req({ stdin: '/f/i', stdout: '/f/o', stderr: '/f/e' })), { kind: 'fifo', stdin: '/f/i', stdout: '/f/o', stderr: '/f/e', terminal: false });
  t.same(parseStdio(req({ stdout: '/f/o' })), { kind: 'fifo', stdin: null, stdout: '/f/o', stderr: null, terminal: false });
  t.same(parseStdio(req({ stdin: '/f/i' })), { kind: 'fifo', stdin: '/f/i', stdout: null, stderr: null, terminal: false }, 'scheme from an empty stdout: fifo');
  t.same(parseStdio(req({ stdout: '/f/o', stderr: '/f/e', terminal: true })), { kind: 'fifo', stdin: null, stdout: '/f/o', stderr: null, terminal: true }, 'terminal: stderr never used');
  t.same(parseStdio(req({ stdout: '/run/x?y#z' })), { kind: 'fifo', stdin: null, stdout: '/run/x?y#z', stderr: null, terminal: false }, 'a path is taken as is');
});

t.test('relative and malformed paths are InvalidArgument', async (t) => {
  t.match(kindOf(() => parseStdio(req({ stdout: 'out' }))), { kind: 'invalid-argument', message: /stdout must be an absolute fifo path/ });
  t.match(kindOf(() => parseStdio(req({ stdin: './in', stdout: '/o' }))), { kind: 'invalid-argument', message: /stdin/ });
  t.match(kindOf(() => parseStdio(req({ stdout: '/o', stderr: 'file:///x' }))), { kind: 'invalid-argument', message: /stderr/ }, 'the scheme comes from stdout only');
  t.match(kindOf(() => parseStdio(req({ stdout: 'file:///l', stdin: 'in' }))), { kind: 'invalid-argument', message: /stdin/ });
});

t.test('file://', async (t) => {
  t.same(parseStdio(req({ stdout: 'file:///var/log/c.log', stderr: 'file:///var/log/c.log' })), { kind: 'file', stdin: null, path: '/var/log/c.log', terminal: false });
  t.same(parseStdio(req({ stdout: 'FILE:///a/../b%20c', stdin: '/f/i' })), { kind: 'file', stdin: '/f/i', path: '/b c', terminal: false });
  t.match(kindOf(() => parseStdio(req({ stdout: 'file://host/x' }))), { kind: 'invalid-argument', message: /has a host/ });
  t.match(kindOf(() => parseStdio(req({ stdout: 'file:///' }))), { kind: 'invalid-argument', message: /absolute file path/ });
});

t.test('binary://: path, then each key and its first value', async (t) => {
  t.same(parseStdio(req({ stdout: 'binary:///usr/bin/logger?--log-driver=awslogs&--arg1=v1&--arg1=v2&-flag' })), {
    kind: 'binary',
    stdin: null,
    path: '/usr/bin/logger',
    args: ['--log-driver', 'awslogs', '--arg1', 'v1', '-flag', ''],
    terminal: false,
  });
  t.same(parseStdio(req({ stdout: 'binary:////path/to/journal' })), { kind: 'binary', stdin: null, path: '/path/to/journal', args: [], terminal: false }, "ctr's four slashes");
  t.match(kindOf(() => parseStdio(req({ stdout: 'binary://usr/bin/x' }))), { kind: 'invalid-argument', message: /has a host \("usr"\)/ });
});

t.test('other schemes are InvalidArgument naming the scheme', async (t) => {
  for (const uri of ['tcp://1.2.3.4:5', 'fifo:///x', 'npipe://./pipe/x', 'weird:thing']) {
    const scheme = uri.slice(0, uri.indexOf(':'));
    t.match(kindOf(() => parseStdio(req({ stdout: uri }))), { kind: 'invalid-argument', message: new RegExp(`unknown stdio scheme "${scheme}"`) }, uri);
  }
});

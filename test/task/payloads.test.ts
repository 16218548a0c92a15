import t from 'tap';
import { containerd } from '../../src/gen/proto.js';
import { ErrorKind } from '../../src/errors/index.js';
import { decodeCheckpoint, decodeCreateOptions, decodeExecProcess } from '../../src/task/payloads.js';

const PROCESS = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const json = (v: unknown) => ({ type_url: PROCESS, value: Buffer.from(JSON.stringify(v)) });
const kindOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return { kind: (err as { kind?: string }).kind, message: (err as Error).message };
  }
  return { kind: undefined, message: '' };
};

t.test('exec process spec: decoded, terminal forced to the request flag', async (t) => {
  const p = decodeExecProcess(json({ args: ['sh', '-c', 'true'], cwd: '/', env: ['A=1'], terminal: true }), false);
  t.same(p.args, ['sh', '-c', 'true']);
  t.equal(p.terminal, false);
  t.equal(decodeExecProcess({ type_url: `type.googleapis.com/${PROCESS}`, value: Buffer.from('{"args":["x"]}') }, true).terminal, true);
});

t.test('exec process spec: every bad input is InvalidArgument naming the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [null, /^spec: an exec needs/],
    [{ type_url: 'foo.Bar', value: Buffer.from('{}') }, /^spec: type "foo.Bar"/],
    [{ type_url: PROCESS, value: Buffer.from('{nope') }, /^spec: invalid JSON/],
    [json([1, 2]), /^spec: not a JSON object/],
    [json({ args: [] }), /^spec\.args/],
    [json({ args: ['a', 3] }), /^spec\.args/],
    [json({ args: ['a'], cwd: 'rel' }), /^spec\.cwd/],
    [json({ args: ['a'], env: 'A=1' }), /^spec\.env/],
    [{ type_url: PROCESS, value: Buffer.alloc((1 << 20) + 1, 32) }, /larger than/],
  ];
  for (const [input, re] of cases) {
    const r = kindOf(() => decodeExecProcess(input as never, false));
    t.equal(r.kind, ErrorKind.InvalidArgument, String(re));
    t.match(r.message, re);
  }
});

t.test('create options: runc Options or nothing', async (t) => {
  t.same(decodeCreateOptions(null), {});
  t.same(decodeCreateOptions({ type_url: 'runtimeoptions.v1.Options', value: Buffer.from([0x12, 0x02, 0x2f, 0x63]) }), {}, 'the config path was read by start');
  const value = containerd.runc.v1.Options.encode({ criuImagePath: '/img', criuWorkPath: '/w', ioUid: 1000 }).finish();
  t.same(decodeCreateOptions({ type_url: 'containerd.runc.v1.Options', value }), { criuImagePath: '/img', criuWorkPath: '/w', ioUid: 1000, ioGid: undefined });
  t.equal(kindOf(() => decodeCreateOptions({ type_url: 'x.Y', value })).kind, ErrorKind.InvalidArgument);
  t.equal(kindOf(() => decodeCreateOptions({ type_url: 'containerd.runc.v1.Options', value: Buffer.from([0xff, 0xff]) })).kind, ErrorKind.InvalidArgument);
});

t.test('checkpoint options become runc flags; leave running unless exit', async (t) => {
  t.same(decodeCheckpoint('/img', null, '/w'), {
    imagePath: '/img', workPath: '/w', leaveRunning: true, tcpEstablished: false, externalUnixSockets: false, shellJob: false, fileLocks: false, emptyNamespaces: [], cgroupsMode: undefined,
  });
  const value = containerd.runc.v1.CheckpointOptions.encode({ exit: true, openTcp: true, terminal: true, emptyNamespaces: ['network'], cgroupsMode: 'soft', workPath: '/ww' }).finish();
  const c = decodeCheckpoint('/img', { type_url: 'containerd.runc.v1.CheckpointOptions', value }, '/w');
  t.equal(c.leaveRunning, false);
  t.equal(c.tcpEstablished, true);
  t.equal(c.shellJob, true);
  t.equal(c.workPath, '/ww');
  t.same(c.emptyNamespaces, ['network']);
  t.equal(kindOf(() => decodeCheckpoint('', null, '/w')).kind, ErrorKind.InvalidArgument);
  t.equal(kindOf(() => decodeCheckpoint('rel', null, '/w')).kind, ErrorKind.InvalidArgument);
});

import t from 'tap';
import protobuf from 'protobufjs/minimal.js';
import { containerd } from '../../src/gen/proto.js';
import { ErrorKind } from '../../src/errors/index.js';
import { decodeCreateOptions, runtimeOverrides } from '../../src/task/runc-options.js';

const kindOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { kind?: string }).kind;
  }
  return undefined;
};

t.test('containerd.runc.v1.Options: every field runc-v2 honours is kept', async (t) => {
  const value = containerd.runc.v1.Options.encode({
    noPivotRoot: true, noNewKeyring: true, shimCgroup: '/pods/a', ioUid: 1000, ioGid: 1001, binaryName: 'crun', root: '/run/r',
    criuPath: '/usr/sbin/criu', systemdCgroup: true, criuImagePath: '/img', criuWorkPath: '/w',
  }).finish();
  const o = decodeCreateOptions({ type_url: 'containerd.runc.v1.Options', value });
  t.same(o, {
    noPivotRoot: true, noNewKeyring: true, shimCgroup: '/pods/a', ioUid: 1000, ioGid: 1001, binaryName: 'crun', root: '/run/r',
    criuPath: '/usr/sbin/criu', systemdCgroup: true, criuImagePath: '/img', criuWorkPath: '/w',
  });
  t.same(runtimeOverrides(o), { binary: 'crun', root: '/run/r', systemdCgroup: true, criuPath: '/usr/sbin/criu' });
  t.same(runtimeOverrides(decodeCreateOptions(null)), {}, 'no options: the runtime as configured');
});

t.test('containerd.linux.runc.CreateOptions (the v1 runtime type) is accepted and mapped', async (t) => {
  // no_pivot_root 1, open_tcp 2 (checkpoint only: ignored), no_new_keyring 8, shim_cgroup 9,
  // io_uid 10, io_gid 11, criu_work_path 12, criu_image_path 13.
  const value = protobuf.Writer.create()
    .uint32(0x08).bool(true)
    .uint32(0x10).bool(true)
    .uint32(0x40).bool(true)
    .uint32(0x4a).string('/shim')
    .uint32(0x50).uint32(7)
    .uint32(0x58).uint32(8)
    .uint32(0x62).string('/work')
    .uint32(0x6a).string('/image')
    .finish();
  t.same(decodeCreateOptions({ type_url: 'containerd.linux.runc.CreateOptions', value }), {
    noPivotRoot: true, noNewKeyring: true, shimCgroup: '/shim', ioUid: 7, ioGid: 8, criuWorkPath: '/work', criuImagePath: '/image',
  });
  t.same(decodeCreateOptions({ type_url: 'type.googleapis.com/containerd.linux.runc.CreateOptions', value: new Uint8Array() }), {}, 'prefixed, empty');
  t.equal(kindOf(() => decodeCreateOptions({ type_url: 'containerd.linux.runc.CreateOptions', value: Buffer.from([0x4a, 0x05, 0x41]) })), ErrorKind.InvalidArgument, 'truncated');
});

t.test('malformed values are InvalidArgument naming the field', async (t) => {
  const bad = (o: Parameters<typeof containerd.runc.v1.Options.encode>[0]) =>
    kindOf(() => decodeCreateOptions({ type_url: 'containerd.runc.v1.Options', value: containerd.runc.v1.Options.encode(o).finish() }));
  t.equal(bad({ root: 'relative/root' }), ErrorKind.InvalidArgument);
  t.equal(bad({ criuPath: 'criu' }), ErrorKind.InvalidArgument);
  t.equal(bad({ binaryName: 'bin/runc' }), ErrorKind.InvalidArgument, 'a relative path with a slash');
  t.equal(bad({ shimCgroup: '/a/../b' }), ErrorKind.InvalidArgument);
  t.equal(bad({ binaryName: 'runc' }), undefined, 'a name on PATH is fine');
  t.equal(kindOf(() => decodeCreateOptions({ type_url: 'x.Y', value: new Uint8Array([1]) })), ErrorKind.InvalidArgument, 'another type');
});

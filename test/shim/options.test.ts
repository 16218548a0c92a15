import t from 'tap';
import protobuf from 'protobufjs/minimal.js';
import { decodeRuntimeOptions } from '../../src/shim/options.js';

const any = (typeUrl: string, value: Uint8Array) => Buffer.from(protobuf.Writer.create().uint32(0x0a).string(typeUrl).uint32(0x12).bytes(value).finish());

t.test("start reads the config path, and runc's shim cgroup", async (t) => {
  t.equal(decodeRuntimeOptions(Buffer.alloc(0)), undefined);
  t.same(decodeRuntimeOptions(any('runtimeoptions.v1.Options', protobuf.Writer.create().uint32(0x12).string('/etc/sy.toml').finish())), {
    typeUrl: 'runtimeoptions.v1.Options',
    configPath: '/etc/sy.toml',
  });
  // containerd.runc.v1.Options { binary_name = 6; shim_cgroup = 3 }
  const runc = protobuf.Writer.create().uint32(0x32).string('runc').uint32(0x1a).string('/pods/shim').finish();
  t.same(decodeRuntimeOptions(any('containerd.runc.v1.Options', runc)), { typeUrl: 'containerd.runc.v1.Options', shimCgroup: '/pods/shim' });
  t.same(decodeRuntimeOptions(any('containerd.runc.v1.Options', new Uint8Array())), { typeUrl: 'containerd.runc.v1.Options' }, 'none named');
});

import t from 'tap';
import { LINUX_RESOURCES_TYPE, decodeLinuxResources } from '../../src/task/resources-payload.js';
import { ErrorKind } from '../../src/errors/index.js';

const any = (json: unknown, type_url = LINUX_RESOURCES_TYPE) => ({
  type_url,
  value: new Uint8Array(Buffer.from(typeof json === 'string' ? json : JSON.stringify(json))),
});

// What containerd's typeurl produces for `ctr task update --memory-limit ... --cpu-quota ...`
// and for a CRI UpdateContainerResources: Go's json.Marshal of specs.LinuxResources.
const FULL = {
  devices: [{ allow: false, access: 'rwm' }],
  memory: { limit: 268435456, reservation: null, swap: -1, swappiness: 60, disableOOMKiller: false },
  cpu: { shares: 1024, quota: 50000, period: 100000, realtimeRuntime: -1, cpus: '0-1', mems: '0' },
  pids: { limit: 100 },
  blockIO: {
    weight: 500,
    weightDevice: [{ major: 8, minor: 0, weight: 100 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
  },
  hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
  unified: { 'memory.high': '200000000' },
  network: { classID: 1 },
};

t.test('decodes a full LinuxResources', async (t) => {
  const r = decodeLinuxResources(any(FULL));
  t.same(r, {
    memory: { limit: 268435456, swap: -1, swappiness: 60, disableOOMKiller: false },
    cpu: { shares: 1024, quota: 50000, period: 100000, realtimeRuntime: -1, cpus: '0-1', mems: '0' },
    pids: { limit: 100 },
    blockIO: {
      weight: 500,
      weightDevice: [{ major: 8, minor: 0, weight: 100 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
    unified: { 'memory.high': '200000000' },
  }, 'null fields and the parts runc update ignores are dropped');
  t.same(decodeLinuxResources(any({})), {});
  t.same(decodeLinuxResources(any({ memory: { limit: 1 } }, `type.googleapis.com/${LINUX_RESOURCES_TYPE}`)), { memory: { limit: 1 } }, 'a URL prefix names the same type');
});

t.test('a wrong or missing type is InvalidArgument naming it', async (t) => {
  t.throws(() => decodeLinuxResources(any({}, 'types.containerd.io/opencontainers/runtime-spec/1/WindowsResources')), {
    kind: ErrorKind.InvalidArgument,
    message: 'resources: type "types.containerd.io/opencontainers/runtime-spec/1/WindowsResources" is not ' + LINUX_RESOURCES_TYPE,
  });
  t.throws(() => decodeLinuxResources(null), { kind: ErrorKind.InvalidArgument, message: /needs a LinuxResources/ });
  t.throws(() => decodeLinuxResources({ type_url: '', value: new Uint8Array() }), { kind: ErrorKind.InvalidArgument, message: /needs a LinuxResources/ });
});

t.test('bad JSON is InvalidArgument', async (t) => {
  t.throws(() => decodeLinuxResources(any('{"memory": {"limit": 1')), { kind: ErrorKind.InvalidArgument, message: /^resources: invalid JSON/ });
  t.throws(() => decodeLinuxResources(any('[]')), { kind: ErrorKind.InvalidArgument, message: 'resources: must be an object, got a list' });
  t.throws(() => decodeLinuxResources(any('x'.repeat((1 << 20) + 1))), { kind: ErrorKind.InvalidArgument, message: /larger than/ });
});

t.test('a field of the wrong type is InvalidArgument naming the field', async (t) => {
  const cases: [unknown, RegExp | string][] = [
    [{ memory: { limit: '1G' } }, 'resources.memory.limit: must be an integer, got "1G"'],
    [{ memory: { limit: 1.5 } }, 'resources.memory.limit: must be an integer, got 1.5'],
    [{ memory: { swappiness: -1 } }, 'resources.memory.swappiness: must not be negative, got -1'],
    [{ memory: { disableOOMKiller: 'yes' } }, 'resources.memory.disableOOMKiller: must be a boolean, got "yes"'],
    [{ memory: 5 }, 'resources.memory: must be an object, got 5'],
    [{ cpu: { cpus: 3 } }, 'resources.cpu.cpus: must be a string, got 3'],
    [{ cpu: { quota: 2 ** 63 } }, /^resources\.cpu\.quota: .* beyond the exactly representable range/],
    [{ pids: { limit: true } }, 'resources.pids.limit: must be an integer, got true'],
    [{ blockIO: { weight: 70000 } }, 'resources.blockIO.weight: must be at most 65535, got 70000'],
    [{ blockIO: { throttleWriteIOPSDevice: [{ major: 8, minor: 0 }] } }, 'resources.blockIO.throttleWriteIOPSDevice[0].rate: required'],
    [{ blockIO: { weightDevice: {} } }, 'resources.blockIO.weightDevice: must be a list, got an object'],
    [{ hugepageLimits: [{ pageSize: '2MB', limit: 1 }, { limit: 1 }] }, 'resources.hugepageLimits[1].pageSize: required'],
    [{ unified: { 'cpu.max': 5 } }, 'resources.unified.cpu.max: must be a string, got 5'],
  ];
  for (const [json, message] of cases) {
    t.throws(() => decodeLinuxResources(any(json)), { kind: ErrorKind.InvalidArgument, message }, JSON.stringify(json));
  }
});


import t from 'tap';
import { taskServiceV2, taskServiceV3 } from '../../src/api/task.js';
import { containerd, google, runtimeoptions, ttrpc } from '../../src/gen/proto.js';

const v2 = containerd.task.v2;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

t.test('ttrpc.Request for Connect matches docs/protocol.md §1.10 byte for byte', async (t) => {
  const payload = v2.ConnectRequest.encode({ id: 'probe1' }).finish();
  t.equal(hex(payload), '0a06' + ascii('probe1'));

  const req = ttrpc.Request.encode({ service: 'containerd.task.v2.Task', method: 'Connect', payload }).finish();
  t.equal(
    hex(req),
    '0a17' + ascii('containerd.task.v2.Task') + '1207' + ascii('Connect') + '1a08' + '0a06' + ascii('probe1'),
  );
  t.equal(req.length, 44, 'the 44 data bytes of the worked frame');

  const back = ttrpc.Request.decode(req);
  t.equal(back.service, 'containerd.task.v2.Task');
  t.equal(back.method, 'Connect');
  t.equal(back.timeoutNano, 0);
  t.same(back.metadata, []);
  t.equal(v2.ConnectRequest.decode(back.payload).id, 'probe1');
});

t.test('ConnectResponse{shim_pid:1234, task_pid:4242}', async (t) => {
  const b = v2.ConnectResponse.encode({ shimPid: 1234, taskPid: 4242 }).finish();
  t.equal(hex(b), '08d209109221');
  const back = v2.ConnectResponse.decode(b);
  t.equal(back.shimPid, 1234);
  t.equal(back.taskPid, 4242);
  t.equal(back.version, '');

  // The whole OK Response frame body of 1.11.
  t.equal(hex(ttrpc.Response.encode({ payload: b }).finish()), '1206' + '08d209109221');
});

t.test('a NOT_FOUND ttrpc.Response', async (t) => {
  const message = 'container not created: not found';
  const b = ttrpc.Response.encode({ status: { code: 5, message } }).finish();
  t.equal(hex(b), '0a24' + '0805' + '1220' + ascii(message));
  t.equal(b.length, 0x26);

  const back = ttrpc.Response.decode(b);
  t.equal(back.status?.code, 5);
  t.equal(back.status?.message, message);
  t.same(back.status?.details, []);
  t.equal(back.payload.length, 0);
});

t.test('ttrpc.Request keeps timeout and metadata', async (t) => {
  const b = ttrpc.Request.encode({
    service: 's',
    method: 'm',
    timeoutNano: 5_000_000_000, // past 2^32: needs a 64-bit varint
    metadata: [{ key: 'containerd-namespace', value: 'k8s.io' }],
  }).finish();
  const back = ttrpc.Request.decode(b);
  t.equal(back.timeoutNano, 5_000_000_000);
  t.equal(typeof back.timeoutNano, 'number', 'int64 decodes to a plain number');
  t.same(back.metadata.map((kv) => [kv.key, kv.value]), [['containerd-namespace', 'k8s.io']]);
});

// google.protobuf.Any comes from protobufjs's bundled definition, which keeps
// the snake_case `type_url`; every field parsed from proto/ is camelCase.
t.test('an Envelope carrying a TaskExit round-trips', async (t) => {
  const exit = {
    containerId: 'c1',
    id: 'c1',
    pid: 4242,
    exitStatus: 137,
    exitedAt: { seconds: 1_700_000_000, nanos: 123_456_789 },
  };
  const fwd = ttrpc.Request.encode({
    service: 'containerd.services.events.ttrpc.v1.Events',
    method: 'Forward',
    payload: containerd.services.events.ttrpc.v1.ForwardRequest.encode({
      envelope: {
        timestamp: { seconds: 1_700_000_001, nanos: 0 },
        namespace: 'default',
        topic: '/tasks/exit',
        event: { type_url: 'containerd.events.TaskExit', value: containerd.events.TaskExit.encode(exit).finish() },
      },
    }).finish(),
  }).finish();

  const req = ttrpc.Request.decode(fwd);
  const env = containerd.services.events.ttrpc.v1.ForwardRequest.decode(req.payload).envelope;
  t.ok(env, 'envelope present');
  t.equal(env?.namespace, 'default');
  t.equal(env?.topic, '/tasks/exit');
  t.same(env?.timestamp, { seconds: 1_700_000_001 });
  t.equal(env?.event?.type_url, 'containerd.events.TaskExit');

  const back = containerd.events.TaskExit.decode(env?.event?.value ?? new Uint8Array());
  t.same(containerd.events.TaskExit.toObject(back, { defaults: true }), exit);
});

t.test('DeleteResponse with exited_at round-trips', async (t) => {
  const msg = { pid: 77, exitStatus: 1, exitedAt: { seconds: 1_700_000_000, nanos: 5 } };
  const back = v2.DeleteResponse.decode(v2.DeleteResponse.encode(msg).finish());
  t.equal(back.pid, 77);
  t.equal(back.exitStatus, 1);
  t.equal(back.exitedAt?.seconds, 1_700_000_000);
  t.equal(typeof back.exitedAt?.seconds, 'number');
  t.equal(back.exitedAt?.nanos, 5);

  // Go's zero time, which containerd 1.6 always sends: a negative int64.
  const zero = v2.WaitResponse.encode({ exitedAt: { seconds: -62135596800 } }).finish();
  t.equal(hex(zero), '120b' + '088092b8c398feffffff01');
  t.equal(v2.WaitResponse.decode(zero).exitedAt?.seconds, -62135596800);
});

t.test('an empty buffer is Empty, or a message of defaults', async (t) => {
  const none = new Uint8Array(0);
  t.equal(google.protobuf.Empty.encode({}).finish().length, 0);
  t.same(google.protobuf.Empty.toObject(google.protobuf.Empty.decode(none)), {});

  const res = ttrpc.Response.decode(none);
  t.equal(res.status, null, 'a zero-length Response means OK');
  t.equal(res.payload.length, 0);

  const st = v2.StateResponse.decode(none);
  t.equal(st.id, '');
  t.equal(st.pid, 0);
  t.equal(st.status, containerd.v1.types.Status.UNKNOWN);
  t.equal(st.terminal, false);
  t.equal(st.exitedAt, null);
  t.same(v2.PidsResponse.decode(none).processes, []);
  t.same(v2.UpdateTaskRequest.decode(none).annotations, {});
  t.equal(v2.CreateTaskRequest.decode(none).options, null);
});

t.test('unknown fields are skipped on decode', async (t) => {
  const known = v2.ConnectResponse.encode({ shimPid: 1234, taskPid: 4242 }).finish();
  // field 99, length-delimited "hi"; then field 100, varint 1
  const extra = Buffer.from('9a06026869' + 'a00601', 'hex');
  const back = v2.ConnectResponse.decode(Buffer.concat([known, extra]));
  t.equal(back.shimPid, 1234);
  t.equal(back.taskPid, 4242);
  t.equal(hex(v2.ConnectResponse.encode(back).finish()), hex(known), 'nothing unknown is kept');

  // The same inside a nested message (a newer containerd's TaskExit.exit_reason = 6).
  const exit = containerd.events.TaskExit.encode({ containerId: 'c', pid: 1 }).finish();
  const withReason = Buffer.concat([exit, Buffer.from('3001', 'hex')]);
  t.same(containerd.events.TaskExit.toObject(containerd.events.TaskExit.decode(withReason)), { containerId: 'c', pid: 1 });
});

t.test('CreateTaskRequest with rootfs and runtime options', async (t) => {
  const options = runtimeoptions.v1.Options.encode({ typeUrl: 'x', configPath: '/etc/switchyard/config.toml' }).finish();
  const msg = {
    id: 'c1',
    bundle: '/run/containerd/io.containerd.runtime.v2.task/default/c1',
    rootfs: [{ type: 'overlay', source: 'overlay', options: ['lowerdir=/a', 'upperdir=/b', 'workdir=/c'] }],
    stdout: '/run/fifo/c1-stdout',
    options: { type_url: 'runtimeoptions.v1.Options', value: options },
  };
  const back = v2.CreateTaskRequest.decode(v2.CreateTaskRequest.encode(msg).finish());
  t.equal(back.rootfs.length, 1);
  t.same(back.rootfs[0]?.options, ['lowerdir=/a', 'upperdir=/b', 'workdir=/c']);
  t.equal(back.rootfs[0]?.target, '');
  t.equal(back.options?.type_url, 'runtimeoptions.v1.Options');
  const opts = runtimeoptions.v1.Options.decode(back.options?.value ?? new Uint8Array());
  t.equal(opts.configPath, '/etc/switchyard/config.toml');
  t.equal(opts.configBody.length, 0);
});

t.test('runc options decode from hand-made bytes', async (t) => {
  // binary_name (6) = "crun", systemd_cgroup (9) = true, task_api_version (13) = 3
  const b = Buffer.from('3204' + ascii('crun') + '4801' + '6803', 'hex');
  const o = containerd.runc.v1.Options.decode(b);
  t.equal(o.binaryName, 'crun');
  t.equal(o.systemdCgroup, true);
  t.equal(o.taskApiVersion, 3);
  t.equal(o.root, '');
  t.equal(hex(containerd.runc.v1.Options.encode(o).finish()), hex(b));
});

t.test('UpdateTaskRequest annotations map', async (t) => {
  const b = v2.UpdateTaskRequest.encode({ id: 'c1', annotations: { a: '1' } }).finish();
  // map entries are messages {key = 1, value = 2} in field 3
  t.equal(hex(b), '0a02' + ascii('c1') + '1a06' + '0a01' + ascii('a') + '1201' + ascii('1'));
  t.same(v2.UpdateTaskRequest.decode(b).annotations, { a: '1' });
});

t.test('containerd.task.v3 is served from the v2 definition: same methods and codecs, v3 name', async (t) => {
  t.same(Object.keys(taskServiceV3).sort(), Object.keys(taskServiceV2).sort());
  for (const [name, m] of Object.entries(taskServiceV3)) {
    t.equal(m.path, `/containerd.task.v3.Task/${name}`);
    t.equal(m.requestSerialize, taskServiceV2[name as keyof typeof taskServiceV2].requestSerialize);
  }
});

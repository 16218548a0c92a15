/**
 * containerd's Tasks/Update over gRPC, which ctr 1.6 has no command for: the request an
 * orchestrator (CRI's UpdateContainerResources) sends, encoded by hand for this one call.
 */
import grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';

const RESOURCES_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

/** UpdateTaskRequest { container_id = 1; google.protobuf.Any resources = 2 }. */
function encodeUpdate(id: string, resources: unknown): Buffer {
  const any = protobuf.Writer.create().uint32(0x0a).string(RESOURCES_TYPE).uint32(0x12).bytes(Buffer.from(JSON.stringify(resources))).finish();
  return Buffer.from(protobuf.Writer.create().uint32(0x0a).string(id).uint32(0x12).bytes(any).finish());
}

export async function updateTask(address: string, namespace: string, id: string, resources: unknown): Promise<void> {
  const client = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('containerd-namespace', namespace);
  try {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        '/containerd.services.tasks.v1.Tasks/Update',
        (b: Buffer) => b,
        (b: Buffer) => b,
        encodeUpdate(id, resources),
        md,
        { deadline: Date.now() + 20_000 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  } finally {
    client.close();
  }
}

async function unary(address: string, namespace: string | undefined, method: string, body: Uint8Array, timeoutMs = 30_000): Promise<Buffer> {
  const client = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (namespace) md.set('containerd-namespace', namespace);
  try {
    return await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        method,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(body),
        md,
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res ?? Buffer.alloc(0))),
      ),
    );
  } finally {
    client.close();
  }
}

/** Fields of one protobuf message: number → last value (varints as numbers, the rest as bytes). */
function fields(buf: Buffer): Map<number, number | Buffer> {
  const r = protobuf.Reader.create(buf);
  const out = new Map<number, number | Buffer>();
  while (r.pos < r.len) {
    const key = r.uint32();
    if ((key & 7) === 0) out.set(key >>> 3, r.uint32());
    else if ((key & 7) === 2) out.set(key >>> 3, Buffer.from(r.bytes()));
    else r.skipType(key & 7);
  }
  return out;
}

/** Tasks/Wait { container_id = 1; exec_id = 2 } → WaitResponse.exit_status (field 1). */
export async function waitTask(address: string, namespace: string, id: string, execId = '', timeoutMs = 30_000): Promise<number> {
  const w = protobuf.Writer.create().uint32(0x0a).string(id);
  if (execId) w.uint32(0x12).string(execId);
  const res = await unary(address, namespace, '/containerd.services.tasks.v1.Tasks/Wait', w.finish(), timeoutMs);
  return Number(fields(res).get(1) ?? 0);
}

/**
 * Introspection/PluginInfo for the runtime plugin (type io.containerd.runtime.v2, id
 * task) with a containerd.types.RuntimeRequest naming `runtime`: containerd 2.x answers it
 * by running `<shim> -info`. Returns the RuntimeInfo bytes from the response's `extra`.
 */
export async function runtimePluginInfo(address: string, runtime: string): Promise<Buffer> {
  const request = protobuf.Writer.create().uint32(0x0a).string(runtime).finish();
  const any = protobuf.Writer.create().uint32(0x0a).string('containerd.types.RuntimeRequest').uint32(0x12).bytes(request).finish();
  const body = protobuf.Writer.create().uint32(0x0a).string('io.containerd.runtime.v2').uint32(0x12).string('task').uint32(0x1a).bytes(any).finish();
  const res = await unary(address, undefined, '/containerd.services.introspection.v1.Introspection/PluginInfo', body);
  const extra = fields(res).get(2);
  if (!Buffer.isBuffer(extra)) throw new Error('PluginInfo: no extra in the response');
  const value = fields(extra).get(2);
  return Buffer.isBuffer(value) ? value : Buffer.alloc(0);
}

const PROCESS_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/Process';

/**
 * Tasks/Exec { container_id = 1; stdin = 2; stdout = 3; stderr = 4; terminal = 5; spec = 6;
 * exec_id = 7 }: creates the exec without starting it (no stdio), as containerd's client
 * does before Start.
 */
export async function execCreate(address: string, namespace: string, id: string, execId: string, process: unknown): Promise<void> {
  const any = protobuf.Writer.create().uint32(0x0a).string(PROCESS_TYPE).uint32(0x12).bytes(Buffer.from(JSON.stringify(process))).finish();
  const body = protobuf.Writer.create().uint32(0x0a).string(id).uint32(0x32).bytes(any).uint32(0x3a).string(execId).finish();
  await unary(address, namespace, '/containerd.services.tasks.v1.Tasks/Exec', body);
}

/** Tasks/DeleteProcess { container_id = 1; exec_id = 2 } → DeleteResponse { pid = 2; exit_status = 3 }. */
export async function deleteProcess(address: string, namespace: string, id: string, execId: string): Promise<{ pid: number; exitStatus: number }> {
  const body = protobuf.Writer.create().uint32(0x0a).string(id).uint32(0x12).string(execId).finish();
  const f = fields(await unary(address, namespace, '/containerd.services.tasks.v1.Tasks/DeleteProcess', body));
  return { pid: Number(f.get(2) ?? 0), exitStatus: Number(f.get(3) ?? 0) };
}

/** Tasks/ResizePty { container_id = 1; exec_id = 2; width = 3; height = 4 }. */
export async function resizePty(address: string, namespace: string, id: string, execId: string, width: number, height: number): Promise<void> {
  const w = protobuf.Writer.create().uint32(0x0a).string(id);
  if (execId) w.uint32(0x12).string(execId);
  await unary(address, namespace, '/containerd.services.tasks.v1.Tasks/ResizePty', w.uint32(0x18).uint32(width).uint32(0x20).uint32(height).finish());
}

/** Every occurrence of one length-delimited field (a repeated message field), raw. */
function repeated(buf: Buffer, field: number): Buffer[] {
  const r = protobuf.Reader.create(buf);
  const out: Buffer[] = [];
  while (r.pos < r.len) {
    const key = r.uint32();
    if (key >>> 3 === field && (key & 7) === 2) out.push(Buffer.from(r.bytes()));
    else r.skipType(key & 7);
  }
  return out;
}

/**
 * Tasks/Create for a container made with `ctr container create`, with Create options of
 * the caller's choosing, as containerd's Go client sends them (NewTask with
 * WithRuntime/WithShimCgroup/WithUIDOwner…): the rootfs mounts are the container's
 * snapshot's (Snapshots/Mounts { snapshotter = 1; key = 2 } → repeated Mount mounts = 1),
 * then CreateTaskRequest { container_id = 1; rootfs = 3; options = 9 }. No stdio.
 * Returns the task's pid.
 */
export async function createTaskWithOptions(
  address: string,
  namespace: string,
  id: string,
  snapshotter: string,
  options: { typeUrl: string; value: Uint8Array },
): Promise<number> {
  const mountsReq = protobuf.Writer.create().uint32(0x0a).string(snapshotter).uint32(0x12).string(id).finish();
  const mounts = repeated(await unary(address, namespace, '/containerd.services.snapshots.v1.Snapshots/Mounts', mountsReq), 1);
  const any = protobuf.Writer.create().uint32(0x0a).string(options.typeUrl).uint32(0x12).bytes(options.value).finish();
  const w = protobuf.Writer.create().uint32(0x0a).string(id);
  for (const m of mounts) w.uint32(0x1a).bytes(m);
  w.uint32(0x4a).bytes(any);
  const res = await unary(address, namespace, '/containerd.services.tasks.v1.Tasks/Create', w.finish());
  return Number(fields(res).get(2) ?? 0);
}

/** Tasks/Start { container_id = 1 }. */
export async function startTask(address: string, namespace: string, id: string): Promise<void> {
  await unary(address, namespace, '/containerd.services.tasks.v1.Tasks/Start', protobuf.Writer.create().uint32(0x0a).string(id).finish());
}

/** Fields of a message, keeping strings: number → last value as bytes or varint. */
function stringField(m: Map<number, number | Buffer>, n: number): string {
  const v = m.get(n);
  return Buffer.isBuffer(v) ? v.toString('utf8') : '';
}

/**
 * containerd 2.x's sandbox Controller/Status (sandbox_id = 1, verbose = 2, sandboxer = 10):
 * what our shim's SandboxStatus answered, through containerd.
 */
export async function sandboxControllerStatus(address: string, namespace: string, id: string, sandboxer = 'shim'): Promise<{ pid: number; state: string; address: string }> {
  const body = protobuf.Writer.create().uint32(0x0a).string(id).uint32(0x52).string(sandboxer).finish();
  const f = fields(await unary(address, namespace, '/containerd.services.sandbox.v1.Controller/Status', body));
  return { pid: Number(f.get(2) ?? 0), state: stringField(f, 3), address: stringField(f, 8) };
}

/** containerd 2.x's sandbox Controller/Wait (sandbox_id = 1, sandboxer = 10) → exit_status. */
export async function sandboxControllerWait(address: string, namespace: string, id: string, sandboxer = 'shim', timeoutMs = 60_000): Promise<number> {
  const body = protobuf.Writer.create().uint32(0x0a).string(id).uint32(0x52).string(sandboxer).finish();
  const res = await unary(address, namespace, '/containerd.services.sandbox.v1.Controller/Wait', body, timeoutMs);
  return Number(fields(res).get(1) ?? 0);
}

/**
 * The few calls of containerd's gRPC API the lifecycle benchmark makes, encoded by hand
 * (containerd's service protos are not in proto/): Snapshots/Mounts and Tasks/Create,
 * Start, Wait, Delete. One client, one HTTP/2 connection, reused for every call, so a call
 * costs what containerd and the shim spend on it, not a process start like ctr.
 */
import grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';

const { Writer, Reader } = protobuf;
const raw = (b: Buffer) => b;

/** Field number → values (length-delimited as Buffer, varints as number) of one message. */
function decode(buf: Uint8Array): Map<number, (Buffer | number)[]> {
  const r = Reader.create(buf);
  const out = new Map<number, (Buffer | number)[]>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    let v: Buffer | number;
    switch (tag & 7) {
      case 0:
        v = r.uint32();
        break;
      case 2:
        v = Buffer.from(r.bytes());
        break;
      default:
        r.skipType(tag & 7);
        continue;
    }
    const list = out.get(field) ?? [];
    list.push(v);
    out.set(field, list);
  }
  return out;
}

function strings(fields: [number, string][]): Buffer {
  const w = Writer.create();
  for (const [n, s] of fields) if (s) w.uint32((n << 3) | 2).string(s);
  return Buffer.from(w.finish());
}

export class TasksClient {
  private readonly client: grpc.Client;
  private readonly md: grpc.Metadata;

  constructor(address: string, namespace: string) {
    this.client = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure());
    this.md = new grpc.Metadata();
    this.md.set('containerd-namespace', namespace);
  }

  private call(method: string, body: Buffer, timeoutMs = 60_000): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(method, raw, raw, body, this.md, { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(new Error(`${method}: ${err.message}`)) : resolve(res ?? Buffer.alloc(0)),
      ),
    );
  }

  /** The encoded containerd.types.Mount messages of a snapshot (what ctr passes as rootfs). */
  async mounts(snapshotter: string, key: string): Promise<Buffer[]> {
    const res = await this.call('/containerd.services.snapshots.v1.Snapshots/Mounts', strings([[1, snapshotter], [2, key]]));
    return (decode(res).get(1) ?? []) as Buffer[];
  }

  /** Tasks/Create with null IO; resolves with the task's pid. */
  async create(id: string, rootfs: Buffer[]): Promise<number> {
    const w = Writer.create().uint32((1 << 3) | 2).string(id);
    for (const m of rootfs) w.uint32((3 << 3) | 2).bytes(m);
    const res = decode(await this.call('/containerd.services.tasks.v1.Tasks/Create', Buffer.from(w.finish())));
    return Number(res.get(2)?.[0] ?? 0);
  }

  async start(id: string): Promise<number> {
    const res = decode(await this.call('/containerd.services.tasks.v1.Tasks/Start', strings([[1, id]])));
    return Number(res.get(1)?.[0] ?? 0);
  }

  /** Tasks/Wait: resolves with the exit status once the task has exited. */
  async wait(id: string): Promise<number> {
    const res = decode(await this.call('/containerd.services.tasks.v1.Tasks/Wait', strings([[1, id]])));
    return Number(res.get(1)?.[0] ?? 0);
  }

  /** Tasks/Delete: resolves with the exit status. */
  async delete(id: string): Promise<number> {
    const res = decode(await this.call('/containerd.services.tasks.v1.Tasks/Delete', strings([[1, id]])));
    return Number(res.get(3)?.[0] ?? 0);
  }

  close(): void {
    this.client.close();
  }
}

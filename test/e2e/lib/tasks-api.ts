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

import t from 'tap';
import path from 'node:path';
import { GrpcServer } from '../../../src/transport/grpc/server.js';
import { GrpcClient } from '../../../src/transport/grpc/client.js';
import { TtrpcServer } from '../../../src/transport/ttrpc/server.js';
import { TtrpcClient } from '../../../src/transport/ttrpc/client.js';
import { taskServiceV2, taskServiceV3 } from '../../../src/api/task.js';
import { ErrorKind, ShimError, toStatus, type StatusError } from '../../../src/errors/index.js';
import type { CallRecord } from '../../../src/transport/service.js';
import { fakeTask } from '../fake-task.js';
import { tempDir } from '../../helpers/tmp.js';

t.test('one handler table over gRPC', async (t) => {
  const dir = tempDir(t);
  const sock = path.join(dir, 'g.sock');
  const server = new GrpcServer();
  const records: CallRecord[] = [];
  server.observe((r) => records.push(r));
  server.addService(taskServiceV3, fakeTask());
  await server.listen(sock);
  t.teardown(() => server.close());
  const client = new GrpcClient(sock);
  t.teardown(() => client.close());
  const task = client.service(taskServiceV3);
  t.match(await task.Connect({ id: 'g' }), { taskPid: 4242, version: 'fake:g' });
  t.match(await task.State({ id: 'abc' }), { id: 'abc', pid: 42, status: 2 });
  t.same(records.map((r) => [r.service, r.method, r.code]), [
    ['containerd.task.v3.Task', 'Connect', 0],
    ['containerd.task.v3.Task', 'State', 0],
  ]);
  await t.rejects(task.State({ id: 'sleep:2000' }, { timeoutMs: 50 }), { code: 4 }, 'deadline');
});

t.test('every error kind round-trips as its code over both transports', async (t) => {
  const dir = tempDir(t);
  const impl = fakeTask();
  const g = new GrpcServer();
  g.addService(taskServiceV2, impl);
  await g.listen(path.join(dir, 'g.sock'));
  const tt = new TtrpcServer();
  tt.addService(taskServiceV2, impl);
  await tt.listen(path.join(dir, 't.sock'));
  const gc = new GrpcClient(path.join(dir, 'g.sock'));
  const tc = await TtrpcClient.connect(path.join(dir, 't.sock'));
  t.teardown(async () => {
    gc.close();
    tc.close();
    await Promise.all([g.close(), tt.close()]);
  });
  for (const kind of Object.values(ErrorKind)) {
    const want = toStatus(new ShimError(kind, 'x'));
    for (const [name, client] of [['grpc', gc], ['ttrpc', tc]] as const) {
      const err = (await client.call(taskServiceV2.State, { id: `kind:${kind}` }).catch((e: unknown) => e)) as StatusError;
      t.equal(err.code, want.code, `${kind} over ${name}`);
      t.equal(err.kind, kind, `${kind} over ${name} comes back as its kind`);
      t.equal(err.message, `failed with ${kind}`, `${kind} over ${name} keeps its message`);
    }
  }
});

import t, { type Test } from 'tap';
import net from 'node:net';
import path from 'node:path';
import { TtrpcServer } from '../../../src/transport/ttrpc/server.js';
import { TtrpcClient } from '../../../src/transport/ttrpc/client.js';
import { encodeFrame, FrameDecoder, FrameType } from '../../../src/transport/ttrpc/frame.js';
import { decodeResponse, encodeRequest } from '../../../src/transport/ttrpc/messages.js';
import { taskServiceV2, taskServiceV3, TASK_V2 } from '../../../src/api/task.js';
import { Code, ErrorKind, StatusError } from '../../../src/errors/index.js';
import type { CallRecord } from '../../../src/transport/service.js';
import { fakeTask } from '../fake-task.js';
import { tempDir } from '../../helpers/tmp.js';

async function serve(t: Test) {
  const dir = tempDir(t);
  const sock = path.join(dir, 's.sock');
  const records: CallRecord[] = [];
  const server = new TtrpcServer({ observer: (r) => records.push(r) });
  const impl = fakeTask();
  server.addService(taskServiceV2, impl);
  server.addService(taskServiceV3, impl);
  await server.listen(sock);
  t.teardown(() => server.close());
  const connect = async () => {
    const c = await TtrpcClient.connect(sock);
    t.teardown(() => c.close());
    return c;
  };
  return { sock, server, records, connect };
}

/** Raw request bytes on a raw socket, and the decoded replies. */
async function rawExchange(sock: string, bytes: Buffer, replies: number, hangUp = false): Promise<{ streamId: number; code: number; message: string }[]> {
  const s = net.createConnection(sock);
  const d = new FrameDecoder();
  const out: { streamId: number; code: number; message: string }[] = [];
  return new Promise((resolve, reject) => {
    s.on('data', (chunk) => {
      for (const it of d.push(chunk)) {
        if (it.kind !== 'frame') continue;
        const r = decodeResponse(it.frame.data);
        out.push({ streamId: it.frame.streamId, ...r.status });
        if (out.length === replies) {
          s.destroy();
          resolve(out);
        }
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.write(bytes);
    // A peer that sends a cut frame and goes away: the server must just drop it.
    if (hangUp) s.end();
  });
}

const req = (streamId: number, service: string, method: string, payload = Buffer.alloc(0), timeoutNano = 0) =>
  encodeFrame({ streamId, type: FrameType.Request, flags: 0, data: encodeRequest({ service, method, payload, timeoutNano, metadata: new Map() }) });

t.test('unary calls under v2 and v3 names', async (t) => {
  const { connect, server } = await serve(t);
  const c = await connect();
  const v2 = c.service(taskServiceV2);
  const v3 = c.service(taskServiceV3);
  t.match(await v2.Connect({ id: 'a' }), { taskPid: 4242, version: 'fake:a' });
  t.match(await v3.Connect({ id: 'b' }), { taskPid: 4242, version: 'fake:b' });
  t.same(await v2.Shutdown({ id: 'x' }), {});
  t.equal(server.connections, 1);
});

t.test('many requests in flight on one connection complete out of order', async (t) => {
  const { connect } = await serve(t);
  const c = await connect();
  const v2 = c.service(taskServiceV2);
  const order: string[] = [];
  await Promise.all(
    [80, 10, 40, 0].map((ms) => v2.State({ id: `sleep:${ms}` }).then((r) => order.push(r.id ?? ''))),
  );
  t.same(order, ['sleep:0', 'sleep:10', 'sleep:40', 'sleep:80']);
});

t.test('timeout_nano is a deadline on the server', async (t) => {
  const { sock } = await serve(t);
  const payload = Buffer.from(taskServiceV2.State.requestSerialize({ id: 'sleep:2000' }));
  const [r] = await rawExchange(sock, req(1, TASK_V2, 'State', payload, 50e6), 1);
  t.equal(r!.code, Code.DeadlineExceeded);
});

t.test('client deadline and cancellation', async (t) => {
  const { connect } = await serve(t);
  const c = await connect();
  await t.rejects(c.call(taskServiceV2.State, { id: 'sleep:2000' }, { timeoutMs: 30 }), { code: Code.DeadlineExceeded });
  const ac = new AbortController();
  const p = c.call(taskServiceV2.State, { id: 'sleep:2000' }, { signal: ac.signal });
  ac.abort();
  await t.rejects(p, { code: Code.Cancelled });
  t.match(await c.call(taskServiceV2.State, { id: 'still-ok' }), { id: 'still-ok' }, 'the connection is still usable');
});

t.test('unknown service and method are Unimplemented with the names Go uses', async (t) => {
  const { sock } = await serve(t);
  const replies = await rawExchange(sock, Buffer.concat([req(1, 'no.such.Service', 'X'), req(3, TASK_V2, 'NoSuchMethod')]), 2);
  t.same(replies.sort((a, b) => a.streamId - b.streamId), [
    { streamId: 1, code: Code.Unimplemented, message: 'service no.such.Service' },
    { streamId: 3, code: Code.Unimplemented, message: 'method NoSuchMethod' },
  ]);
});

t.test('even or repeated stream ids are refused', async (t) => {
  const { sock } = await serve(t);
  const replies = await rawExchange(sock, Buffer.concat([req(2, TASK_V2, 'Connect'), req(5, TASK_V2, 'Connect'), req(3, TASK_V2, 'Connect')]), 3);
  const byId = Object.fromEntries(replies.map((r) => [r.streamId, r.code]));
  t.same(byId, { 2: Code.InvalidArgument, 5: Code.OK, 3: Code.InvalidArgument });
});

t.test('an oversize frame gets ResourceExhausted and the connection goes on', async (t) => {
  const { sock } = await serve(t);
  const big = Buffer.alloc(10 + 5 * 1024 * 1024);
  big.writeUInt32BE(5 * 1024 * 1024, 0);
  big.writeUInt32BE(1, 4);
  big.writeUInt8(FrameType.Request, 8);
  const replies = await rawExchange(sock, Buffer.concat([big, req(3, TASK_V2, 'Connect')]), 2);
  t.same(replies.map((r) => [r.streamId, r.code]), [[1, Code.ResourceExhausted], [3, Code.OK]]);
});

t.test('a malformed payload is InvalidArgument; a bug in a handler is Internal', async (t) => {
  const { sock, connect } = await serve(t);
  const [r] = await rawExchange(sock, req(1, TASK_V2, 'State', Buffer.from([0x0a, 0xff, 0xff])), 1);
  t.equal(r!.code, Code.InvalidArgument);
  const c = await connect();
  await t.rejects(c.call(taskServiceV2.State, { id: 'throw' }), { code: Code.Internal, message: 'a bug' });
});

t.test('garbage on one connection closes that one only', async (t) => {
  const { sock, connect } = await serve(t);
  const good = await connect();
  const v2 = good.service(taskServiceV2);
  const pending = v2.State({ id: 'sleep:200' });
  const inputs = [
    Buffer.from('ffffffffffffffffffffffff', 'hex'), // absurd length
    Buffer.from('0000000a0000000101', 'hex'), // truncated header, then hang up
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)), // noise
    req(1, TASK_V2, 'Connect').subarray(0, 15), // a frame cut short
  ];
  for (const bytes of inputs) await rawExchange(sock, bytes, 1, true).catch(() => []);
  t.match(await pending, { id: 'sleep:200' }, 'the request in flight elsewhere completes');
  t.match(await v2.Connect({ id: 'z' }), { taskPid: 4242 });
});

t.test('observer sees every call with its code', async (t) => {
  const { connect, records } = await serve(t);
  const c = await connect();
  await c.call(taskServiceV2.Connect, { id: 'o' });
  await c.call(taskServiceV2.State, { id: `kind:${ErrorKind.NotFound}` }).catch(() => {});
  t.same(records.map((r) => [r.method, r.code]), [['Connect', 0], ['State', Code.NotFound]]);
});

t.test('pending calls fail cleanly when the server goes away', async (t) => {
  const { connect, server } = await serve(t);
  const c = await connect();
  const p = c.call(taskServiceV2.State, { id: 'sleep:5000' });
  setTimeout(() => void server.close(), 20);
  const err = await p.catch((e: unknown) => e);
  t.type(err, StatusError);
  t.equal((err as StatusError).code, Code.Unavailable);
  await t.rejects(c.call(taskServiceV2.Connect, { id: 'x' }), { code: Code.Unavailable });
  await t.rejects(TtrpcClient.connect(path.join(path.dirname('/nonexistent/x'), 'nope.sock')), { code: Code.Unavailable });
});

t.test('onConnection hears every accepted connection (the daemon counts a dial as activity)', async (t) => {
  let seen = 0;
  const server = new TtrpcServer({ onConnection: () => seen++ });
  const sock = path.join(tempDir(t), 's.sock');
  await server.listen(sock);
  t.teardown(() => server.close());
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = net.createConnection({ path: sock }, () => {
        c.destroy();
        resolve();
      });
      c.once('error', reject);
    });
  }
  await new Promise((r) => setTimeout(r, 50));
  t.equal(seen, 3);
});

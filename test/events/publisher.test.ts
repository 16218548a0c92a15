import t, { type Test } from 'tap';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TtrpcServer } from '../../src/transport/ttrpc/server.js';
import { eventsService } from '../../src/api/events.js';
import { unavailable, invalidArgument } from '../../src/errors/index.js';
import { ForwardPublisher, type ForwardPublisherOptions } from '../../src/events/publisher.js';
import { decodeTaskEvent, fromTimestamp, taskCreate, taskDelete, taskExit, taskOOM, taskStart, type TaskEvent } from '../../src/events/topics.js';
import { tempDir } from '../helpers/tmp.js';

interface Received {
  namespace: string;
  topic: string;
  at: Date;
  typeUrl: string;
  message: Record<string, unknown>;
}

interface FakeOptions {
  /** Fail this many calls (from the first) with Unavailable. */
  failFirst?: number;
  /** Delay each reply by this long. */
  delayMs?: number;
  /** Throw this for a topic. */
  refuse?: (topic: string) => Error | undefined;
}

/** A containerd stand-in: records each Forward's envelope and the peak concurrency. */
function fakeContainerd(t: Test, sock: string, opts: FakeOptions = {}) {
  const received: Received[] = [];
  let calls = 0;
  let inFlight = 0;
  let peak = 0;
  const server = new TtrpcServer();
  server.addService(eventsService, {
    Forward: async (req) => {
      calls++;
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        if (opts.delayMs) await sleep(opts.delayMs);
        if (opts.failFirst && calls <= opts.failFirst) throw unavailable(`fake failure ${calls}`);
        const env = req.envelope!;
        const refusal = opts.refuse?.(env.topic ?? '');
        if (refusal) throw refusal;
        const typeUrl = env.event?.type_url ?? '';
        received.push({
          namespace: env.namespace ?? '',
          topic: env.topic ?? '',
          at: fromTimestamp(env.timestamp),
          typeUrl,
          message: decodeTaskEvent(typeUrl, env.event?.value ?? new Uint8Array()),
        });
        return {};
      } finally {
        inFlight--;
      }
    },
  });
  t.teardown(() => server.close());
  return {
    received,
    get calls() {
      return calls;
    },
    get peak() {
      return peak;
    },
    listen: () => server.listen(sock),
    close: () => server.close(),
  };
}

function publisher(t: Test, opts: Partial<ForwardPublisherOptions> & { ttrpcAddress: string }): ForwardPublisher {
  const p = new ForwardPublisher({ namespace: 'ns1', retryDelayMs: 20, callTimeoutMs: 2000, ...opts });
  t.teardown(() => p.close());
  return p;
}

const oom = (i: number): TaskEvent => taskOOM({ containerId: `c${i}` });
const ids = (r: Received[]) => r.map((x) => x.message.containerId);

t.test('200 rapid publishes arrive in order, one call in flight at a time', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const fake = fakeContainerd(t, sock);
  await fake.listen();
  const p = publisher(t, { ttrpcAddress: sock });
  for (let i = 0; i < 200; i++) p.publish(oom(i));
  t.equal(await p.flush(10_000), true, 'flush drains');
  t.same(ids(fake.received), Array.from({ length: 200 }, (_, i) => `c${i}`));
  t.equal(fake.peak, 1, 'never more than one Forward in flight');
  t.same(p.stats, { published: 200, delivered: 200, dropped: 0, queued: 0 });
});

t.test('envelope: namespace, topic, publish-time timestamp, Any type URL', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const fake = fakeContainerd(t, sock, { delayMs: 300 });
  await fake.listen();
  const p = publisher(t, { ttrpcAddress: `unix://${sock}`, namespace: 'k8s.io' });
  const exitedAt = new Date('2024-05-06T07:08:09.123Z');
  const before = Date.now();
  p.publish(taskStart({ containerId: 'a', pid: 1 }));
  // Published now, sent only after the first reply (300 ms later): stamped now.
  p.publish(taskExit({ containerId: 'a', id: 'a', pid: 42, exitStatus: 137, exitedAt }));
  const after = Date.now();
  await p.flush();
  t.equal(fake.received.length, 2);
  const exit = fake.received[1]!;
  t.equal(exit.namespace, 'k8s.io');
  t.equal(exit.topic, '/tasks/exit');
  t.equal(exit.typeUrl, 'containerd.events.TaskExit');
  t.ok(exit.at.getTime() >= before && exit.at.getTime() <= after, `timestamp ${exit.at.toISOString()} is the time of publish()`);
  t.match(exit.message, { containerId: 'a', id: 'a', pid: 42, exitStatus: 137, exitedAt: { seconds: Math.floor(exitedAt.getTime() / 1000), nanos: 123_000_000 } });
  t.equal(fake.received[0]!.typeUrl, 'containerd.events.TaskStart');
});

t.test('a server failing the first two calls: retried, order kept', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const fake = fakeContainerd(t, sock, { failFirst: 2 });
  await fake.listen();
  const p = publisher(t, { ttrpcAddress: sock });
  for (let i = 0; i < 5; i++) p.publish(oom(i));
  t.equal(await p.flush(5000), true);
  t.same(ids(fake.received), ['c0', 'c1', 'c2', 'c3', 'c4']);
  t.equal(fake.calls, 7, 'two failed attempts, then five deliveries');
  t.same(p.stats, { published: 5, delivered: 5, dropped: 0, queued: 0 });
});

t.test('containerd down at first, then up: delivered', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const fake = fakeContainerd(t, sock);
  const p = publisher(t, { ttrpcAddress: sock, retryDelayMs: 50 });
  p.publish(oom(1));
  p.publish(oom(2));
  await sleep(120);
  t.equal(fake.calls, 0);
  await fake.listen();
  t.equal(await p.flush(5000), true);
  t.same(ids(fake.received), ['c1', 'c2']);
  t.equal(p.stats.dropped, 0);
});

t.test('containerd restarts between events: reconnects', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const first = fakeContainerd(t, sock);
  await first.listen();
  const p = publisher(t, { ttrpcAddress: sock, retryDelayMs: 50 });
  p.publish(oom(1));
  await p.flush();
  await first.close();
  const second = fakeContainerd(t, sock);
  await second.listen();
  p.publish(oom(2));
  await p.flush();
  t.same(ids(first.received), ['c1']);
  t.same(ids(second.received), ['c2']);
});

t.test('containerd never up: dropped after the retries, and the publisher goes on', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const p = publisher(t, { ttrpcAddress: sock, retries: 3, retryDelayMs: 10 });
  const t0 = Date.now();
  p.publish(oom(1));
  t.equal(await p.flush(5000), true, 'flush settles although nothing was delivered');
  t.ok(Date.now() - t0 >= 60, 'waited 10+20+30 ms between the attempts');
  t.same(p.stats, { published: 1, delivered: 0, dropped: 1, queued: 0 });
  const fake = fakeContainerd(t, sock);
  await fake.listen();
  p.publish(oom(2));
  await p.flush();
  t.same(ids(fake.received), ['c2']);
});

t.test('a refused event (InvalidArgument) is dropped at once, the next goes through', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const fake = fakeContainerd(t, sock, { refuse: (topic) => (topic === '/tasks/start' ? invalidArgument('bad envelope') : undefined) });
  await fake.listen();
  const p = publisher(t, { ttrpcAddress: sock });
  p.publish(taskStart({ containerId: 'x', pid: 1 }));
  p.publish(oom(9));
  await p.flush();
  t.equal(fake.calls, 2, 'no retry of a refused event');
  t.same(ids(fake.received), ['c9']);
  t.equal(p.stats.dropped, 1);
});

t.test('past maxQueue the oldest waiting events are dropped', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const fake = fakeContainerd(t, sock, { delayMs: 50 });
  await fake.listen();
  const p = publisher(t, { ttrpcAddress: sock, maxQueue: 3 });
  for (let i = 0; i < 10; i++) p.publish(oom(i));
  t.equal(p.stats.queued, 3, 'bounded');
  await p.flush();
  t.same(ids(fake.received), ['c0', 'c7', 'c8', 'c9'], 'the one in flight, then the newest three');
  t.equal(p.stats.dropped, 6);
});

t.test('a slow call times out and is retried on a new connection', async (t) => {
  const sock = path.join(tempDir(t), 'slow.sock');
  let n = 0;
  const server = new TtrpcServer();
  server.addService(eventsService, {
    Forward: async () => {
      // The first reply comes after the call's deadline.
      if (n++ === 0) await sleep(400);
      return {};
    },
  });
  await server.listen(sock);
  t.teardown(() => server.close());
  const p = publisher(t, { ttrpcAddress: sock, callTimeoutMs: 100 });
  p.publish(oom(1));
  t.equal(await p.flush(5000), true);
  t.equal(p.stats.delivered, 1);
  t.equal(n, 2, 'retried after the deadline');
});

t.test('flush with a timeout, and close drops what is queued', async (t) => {
  const sock = path.join(tempDir(t), 'c.sock');
  const p = new ForwardPublisher({ ttrpcAddress: sock, namespace: 'ns', retries: 50, retryDelayMs: 100 });
  p.publish(oom(1));
  p.publish(oom(2));
  t.equal(await p.flush(50), false, 'not drained in time');
  const pending = p.flush();
  p.close();
  t.equal(await pending, false, 'a waiting flush settles on close');
  p.publish(oom(3));
  await sleep(20); // the event in flight gives up on its next turn
  t.same(p.stats, { published: 2, delivered: 0, dropped: 3, queued: 0 });
});

t.test('options are checked', async (t) => {
  const kindOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return (err as { kind?: string }).kind;
    }
    return 'no error';
  };
  t.equal(kindOf(() => new ForwardPublisher({ ttrpcAddress: '', namespace: 'x' })), 'invalid-argument');
  t.equal(kindOf(() => new ForwardPublisher({ ttrpcAddress: '/x', namespace: '' })), 'invalid-argument');
});

t.test('builders encode what containerd expects', async (t) => {
  const at = new Date(1_700_000_000_500);
  const create = taskCreate({
    containerId: 'c',
    bundle: '/run/b',
    rootfs: [{ type: 'overlay', source: 'overlay', options: ['lowerdir=/l'] }],
    io: { stdin: '', stdout: '/f/out', stderr: '/f/err', terminal: false },
    pid: 7,
  });
  t.equal(create.topic, '/tasks/create');
  t.equal(create.typeUrl, 'containerd.events.TaskCreate');
  t.match(decodeTaskEvent(create.typeUrl, create.value), {
    containerId: 'c',
    bundle: '/run/b',
    rootfs: [{ type: 'overlay', source: 'overlay', target: '', options: ['lowerdir=/l'] }],
    io: { stdin: '', stdout: '/f/out', stderr: '/f/err', terminal: false },
    checkpoint: '',
    pid: 7,
  });
  const del = taskDelete({ containerId: 'c', pid: 7, exitStatus: 1, exitedAt: at });
  t.match(decodeTaskEvent(del.typeUrl, del.value), { containerId: 'c', id: '', pid: 7, exitStatus: 1, exitedAt: { seconds: 1_700_000_000, nanos: 500_000_000 } });
  t.equal(fromTimestamp({ seconds: 1_700_000_000, nanos: 500_000_000 }).getTime(), at.getTime());
  t.throws(() => decodeTaskEvent('containerd.events.Nope', new Uint8Array()));
});

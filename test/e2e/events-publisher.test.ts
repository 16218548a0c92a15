// ForwardPublisher against a real private containerd: what `ctr events` shows is what a
// kubelet or moby would see.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { withContainerd } from './lib/containerd.js';
import { requireCommands } from './lib/prereq.js';
import { ForwardPublisher } from '../../src/events/publisher.js';
import { taskCreate, taskDelete, taskExit, taskOOM, taskStart } from '../../src/events/topics.js';

interface EventLine {
  namespace: string;
  topic: string;
  body: string;
}

// `ctr events` prints: <timestamp> <namespace> <topic> <event as JSON>
function parseLine(line: string): EventLine | undefined {
  const m = /^\S+ \S+ \S+ \S+ (\S+) (\/\S+) (.*)$/.exec(line) ?? /^\S+ (\S+) (\/\S+) (.*)$/.exec(line);
  return m ? { namespace: m[1]!, topic: m[2]!, body: m[3]! } : undefined;
}

if (requireCommands(t, ['containerd', 'ctr'])) {
  t.test('create, start, exit, delete reach containerd in order', async (t) => {
    await withContainerd(t, {}, async (c) => {
      const ns = c.namespace;
      const id = `fake-${process.pid}`;
      const watcher = c.ctrProcess(['events'], { reject: false, timeoutMs: 60_000 });
      const lines: EventLine[] = [];
      let raw = '';
      watcher.stdout!.setEncoding('utf8');
      watcher.stdout!.on('data', (chunk: string) => {
        raw += chunk;
        let i;
        while ((i = raw.indexOf('\n')) >= 0) {
          const ev = parseLine(raw.slice(0, i));
          raw = raw.slice(i + 1);
          if (ev) lines.push(ev);
        }
      });
      t.teardown(() => {
        watcher.kill('SIGKILL');
      });

      const p = new ForwardPublisher({ ttrpcAddress: c.ttrpcAddress, namespace: ns, retryDelayMs: 50 });
      t.teardown(() => p.close());

      // ctr has no "subscribed" signal: publish a probe until it shows up.
      const probe = `probe-${process.pid}`;
      const deadline = Date.now() + 20_000;
      while (!lines.some((l) => l.body.includes(probe)) && Date.now() < deadline) {
        p.publish(taskOOM({ containerId: probe }));
        await p.flush();
        await sleep(100);
      }
      if (!t.ok(lines.some((l) => l.body.includes(probe)), 'ctr events is listening')) return;

      const at = new Date();
      p.publish(
        taskCreate({
          containerId: id,
          bundle: `/run/fake/${id}`,
          io: { stdin: '', stdout: '/tmp/out', stderr: '/tmp/err', terminal: false },
          pid: 4242,
        }),
      );
      p.publish(taskStart({ containerId: id, pid: 4242 }));
      p.publish(taskExit({ containerId: id, id, pid: 4242, exitStatus: 3, exitedAt: at }));
      p.publish(taskDelete({ containerId: id, pid: 4242, exitStatus: 3, exitedAt: at }));
      t.equal(await p.flush(15_000), true, 'flushed');
      t.same(p.stats.dropped, 0, 'nothing dropped');

      const mine = () => lines.filter((l) => l.body.includes(id));
      const until = Date.now() + 10_000;
      while (mine().length < 4 && Date.now() < until) await sleep(50);
      const got = mine();
      t.same(
        got.map((l) => l.topic),
        ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'],
        'the four topics, in publish order',
      );
      t.ok(got.every((l) => l.namespace === ns), `all in namespace ${ns}`);
      t.match(got[2]?.body, /"exit_status":3/, 'the exit carries its status');
      t.match(got[0]?.body, /4242/, 'the create carries the pid');
      t.comment(got.map((l) => `${l.namespace} ${l.topic} ${l.body}`).join('\n'));
    });
  });
}

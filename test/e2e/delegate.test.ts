/**
 * A type = "shim" runtime: Switchyard hands a task to another shim v2 and forwards its
 * Task API. Kata's shim cannot be installed here, so the delegate is containerd's own
 * runc-v2 shim: through it every scenario must behave as runc-v2 does directly.
 */
import t from 'tap';
import { socketAddress } from '../../src/shim/address.js';
import fs from 'node:fs';
import path from 'node:path';
import { requireCommands, requireE2E } from './lib/prereq.js';
import { RUNTIME, switchyardContainerd } from './lib/switchyard.js';
import { importBusybox } from './lib/image.js';
import { findProcessesReferencing, isAlive } from './lib/cleanup.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from './lib/wait.js';

if (requireE2E(t) && requireCommands(t, ['containerd-shim-runc-v2'])) {
  const env = switchyardContainerd(t);
  const KEY = 'switchyard.dev/runtime';
  let ns = '';
  let config = '';

  t.before(async () => {
    ns = env.c.newNamespace('dl');
    await importBusybox(env.c, ns);
    config = path.join(tempDir(t), 'config.toml');
    fs.writeFileSync(config, ['[runtimes.delegate-runc]', 'type = "shim"', 'binary = "containerd-shim-runc-v2"', ''].join('\n'));
  });

  const ctr = (args: string[], opts: { input?: string; reject?: boolean } = {}) => env.c.ctr(args, { namespace: ns, reject: opts.reject ?? false, input: opts.input, timeoutMs: 60_000 });
  const runArgs = (id: string, rt: string | undefined, args: string[], flags: string[] = []) => [
    'run', ...flags, ...(rt ? ['--annotation', `${KEY}=${rt}`] : []), '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, id, ...args,
  ];
  const status = async (id: string) => (await ctr(['task', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/)[2];
  const runcShims = (id: string) =>
    findProcessesReferencing(env.c.address).filter((p) => p.cmdline.some((a) => a.includes('containerd-shim-runc-v2')) && p.cmdline.includes(id));

  /** Our daemon for this namespace: its state dir and socket, from its card. */
  const daemon = () => {
    const root = '/run/switchyard/daemons';
    for (const k of fs.readdirSync(root)) {
      try {
        const card = JSON.parse(fs.readFileSync(path.join(root, k, 'daemon.json'), 'utf8')) as { namespace: string; socket: string };
        if (card.namespace === ns) return { dir: path.join(root, k), address: `unix://${card.socket}` };
      } catch {}
    }
    throw new Error(`no daemon card for ${ns}`);
  };

  t.test('run, exit codes, stdout, kill: as runc-v2 does', async (t) => {
    const hello = await ctr(['run', '--rm', ...runArgs('d-hello', 'delegate-runc', ['echo', 'hello']).slice(1)]);
    t.equal(hello.stdout, 'hello');
    t.equal(hello.exitCode, 0);
    t.equal((await ctr(['run', '--rm', ...runArgs('d-seven', 'delegate-runc', ['sh', '-c', 'exit 7']).slice(1)])).exitCode, 7);
  });

  t.test('stdin through the delegate: closing it ends cat', async (t) => {
    // Input goes in once the task runs: ctr 1.6 sends CloseIO only then (see task-api.test.ts).
    const p = env.c.ctrProcess(['run', '--rm', ...runArgs('d-cat', 'delegate-runc', ['cat']).slice(1)], { namespace: ns, reject: false, stdin: 'pipe' });
    t.ok(await waitFor(async () => (await status('d-cat')) === 'RUNNING'), 'running');
    p.stdin!.end('through the delegate\n');
    const r = await p;
    t.equal(r.stdout, 'through the delegate');
    t.equal(r.exitCode, 0);
  });

  t.test('exec, pids, pause/resume, metrics, kill on a long-running delegated task; events once', async (t) => {
    const ev = env.c.ctrProcess(['events'], { reject: false, timeoutMs: 120_000, namespace: ns });
    let events = '';
    ev.stdout!.on('data', (d: Buffer) => (events += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    await ctr(runArgs('d-long', 'delegate-runc', ['sleep', '1000'], ['-d']), { reject: true });
    t.ok(await waitFor(async () => (await status('d-long')) === 'RUNNING'), 'running');
    t.ok(runcShims('d-long').length > 0, 'served by a runc-v2 shim');
    // containerd finds a task's shim again through <bundle>/address: it must stay ours, and
    // the delegate's Shutdown (which removes the socket its address file names) must never
    // reach our daemon's socket.
    const bundle = path.join(env.c.state, 'io.containerd.runtime.v2.task', ns, 'd-long');
    const ours = fs.readFileSync(path.join(bundle, 'address'), 'utf8');
    const d = daemon();
    t.equal(ours, d.address, 'the bundle names our daemon');
    // runc-v2 of containerd 1.x writes `address` into its working directory; 2.x leaves
    // that to containerd (bootstrap.json) and writes none.
    const theirsFile = path.join(d.dir, 'delegates', 'd-long', 'address');
    // runc-v2's own socket convention: the task id is its group (protocol.md §2.6).
    const theirs = socketAddress(env.c.address, ns, 'd-long');
    if (env.c.build.configVersion === 2) t.equal(fs.readFileSync(theirsFile, 'utf8'), theirs, 'the delegate wrote its address in a directory of ours');
    else t.notOk(fs.existsSync(theirsFile), 'the runc-v2 of containerd 2.x wrote no address file');
    t.not(theirs, ours);
    const ex = await ctr(['task', 'exec', '--exec-id', 'e1', 'd-long', 'sh', '-c', 'echo hi; exit 3']);
    t.equal(ex.stdout, 'hi');
    t.equal(ex.exitCode, 3);
    t.match((await ctr(['task', 'ps', 'd-long'])).stdout, /^\d+/m, 'ps lists a pid');
    await ctr(['task', 'pause', 'd-long'], { reject: true });
    t.equal(await status('d-long'), 'PAUSED');
    await ctr(['task', 'resume', 'd-long'], { reject: true });
    t.equal(await status('d-long'), 'RUNNING');
    const m = await ctr(['task', 'metrics', 'd-long']);
    t.match(m.stdout, /memory\.usage_in_bytes\s+[1-9]/, 'metrics from the delegate');
    await ctr(['task', 'kill', '-s', 'SIGKILL', 'd-long'], { reject: true });
    t.ok(await waitFor(async () => (await status('d-long')) === 'STOPPED'), 'stopped');
    const del = await ctr(['task', 'delete', 'd-long']);
    t.equal(del.exitCode, 0);
    await ctr(['container', 'delete', 'd-long']);
    t.ok(fs.existsSync(ours.replace(/^unix:\/\//, '')), 'our daemon still listens where containerd will look');
    t.ok(await waitFor(async () => !fs.existsSync(theirs.replace(/^unix:\/\//, '')), 5000), 'the delegate removed its own socket');
    t.notOk(fs.existsSync(path.join(d.dir, 'delegates', 'd-long')), 'and we removed its directory');
    await waitFor(async () => /\/tasks\/delete.*d-long/.test(events), 5000);
    ev.kill();
    await ev.catch(() => undefined);
    const mine = events.split('\n').filter((l) => l.includes('d-long'));
    const count = (topic: string) => mine.filter((l) => l.includes(topic + ' ') || l.includes(topic + '\t')).length;
    t.equal(count('/tasks/start'), 1, 'one start event');
    t.equal(count('/tasks/exit'), 2, 'two exits: exec e1 and the init, each once');
    t.equal(count('/tasks/delete'), 1, 'one delete event');
    t.equal(count('/tasks/paused'), 1);
  });

  t.test('kill -9 of the delegate: its task is reported exited and cleaned up; a runc task is untouched', async (t) => {
    await ctr(runArgs('d-victim', 'delegate-runc', ['sleep', '1000'], ['-d']), { reject: true });
    await ctr(runArgs('own-runc', undefined, ['sleep', '1000'], ['-d']), { reject: true });
    t.ok(await waitFor(async () => (await status('d-victim')) === 'RUNNING' && (await status('own-runc')) === 'RUNNING'), 'both running');
    const shims = runcShims('d-victim');
    t.ok(shims.length > 0, 'found the delegate shim');
    for (const p of shims) process.kill(p.pid, 'SIGKILL');
    t.ok(await waitFor(async () => (await status('d-victim')) === 'STOPPED'), 'reported stopped');
    const del = await ctr(['task', 'delete', 'd-victim']);
    t.equal(del.exitCode, 0, `deleted: ${del.stderr}`);
    await ctr(['container', 'delete', 'd-victim']);
    t.equal(await status('own-runc'), 'RUNNING', 'the runc task served by Switchyard keeps running');
    t.notOk(shims.some((p) => isAlive(p.pid)), 'the delegate is gone');
    await ctr(['task', 'kill', '-s', 'SIGKILL', 'own-runc']);
    await waitFor(async () => (await status('own-runc')) === 'STOPPED');
    await ctr(['task', 'delete', 'own-runc']);
    await ctr(['container', 'delete', 'own-runc']);
  });
}

/**
 * A node's containerd replaced under running tasks, as operators upgrade: containerd 1.7.24
 * stopped and 2.1.9 started on the same root, state and socket (and back). The daemon is
 * not restarted: tasks started under one version keep answering State, Exec, Kill, Wait and
 * Delete under the other, and none is lost either way. containerd 2.1 reads a 1.7 bundle's
 * `address` (migrating it to bootstrap.json, version 2); 1.7 reads `address`, which we keep
 * in every bundle, also for a pod's containers that 2.x created without running `start`.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from './lib/prereq.js';
import { startContainerd, type ContainerdHandle } from './lib/containerd.js';
import { RUNC_ROOT, RUNTIME, shimPathOptions, daemonPids } from './lib/switchyard.js';
import { importBusybox } from './lib/image.js';
import { waitTask } from './lib/tasks-api.js';
import { waitFor } from './lib/wait.js';
import { criContainerd, SWITCHYARD_HANDLER } from './lib/cri-env.js';

async function tasks(c: ContainerdHandle): Promise<Map<string, { pid: number; status: string }>> {
  const r = await c.ctr(['tasks', 'ls']);
  const m = new Map<string, { pid: number; status: string }>();
  for (const line of r.stdout.split('\n').slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id && pid && status) m.set(id, { pid: Number(pid), status });
  }
  return m;
}

async function serverVersion(c: ContainerdHandle): Promise<string> {
  const r = await c.ctr(['version']);
  return /Server:[\s\S]*?Version:\s*(\S+)/.exec(r.stdout)?.[1] ?? '';
}

if (requireE2E(t, [], ['1.7', '2.1'])) {
  t.test('ctr tasks: 1.7.24 → 2.1.9 → 1.7.24 under running tasks', async (t) => {
    const c = await startContainerd({ version: '1.7', ...shimPathOptions() });
    t.teardown(() => c.stop());
    c.addRuntimeRoot(path.join(RUNC_ROOT, c.namespace));
    const ref = await importBusybox(c);
    t.match(await serverVersion(c), /^1\.7\.24/);
    await c.ctr(['run', '-d', '--runtime', RUNTIME, ref, 'u1', 'sleep', '1000']);
    await c.ctr(['run', '-d', '--runtime', RUNTIME, ref, 'u2', 'sh', '-c', 'trap "exit 7" TERM; sleep 1000 & wait']);
    const before = await tasks(c);
    const daemon = daemonPids(c);
    t.equal(daemon.length, 1, 'one daemon');

    await c.replaceWith('2.1');
    t.match(await serverVersion(c), /^2\.1\.9/, 'containerd 2.1.9 now');
    const after = await tasks(c);
    for (const id of ['u1', 'u2']) t.same(after.get(id), { pid: before.get(id)!.pid, status: 'RUNNING' }, `${id}: same pid, RUNNING`);
    t.same(daemonPids(c), daemon, 'the same daemon serves them');
    const ex = await c.ctr(['task', 'exec', '--exec-id', 'x1', 'u1', 'sh', '-c', 'echo upgraded; exit 3'], { reject: false });
    t.equal(ex.stdout.trim(), 'upgraded');
    t.equal(ex.exitCode, 3, 'exec under 2.1 into a task started under 1.7');
    const waiting = waitTask(c.address, c.namespace, 'u2');
    await c.ctr(['task', 'kill', '-s', 'SIGTERM', 'u2']);
    t.equal(await waiting, 7, 'kill and wait under 2.1');
    await c.ctr(['task', 'delete', 'u2']);
    await c.ctr(['container', 'delete', 'u2']);
    await c.ctr(['run', '-d', '--runtime', RUNTIME, ref, 'u3', 'sleep', '1000']);

    await c.replaceWith('1.7');
    t.match(await serverVersion(c), /^1\.7\.24/, 'and back to 1.7.24');
    const back = await tasks(c);
    t.same(back.get('u1'), { pid: before.get('u1')!.pid, status: 'RUNNING' }, 'u1 (from 1.7) still RUNNING');
    t.equal(back.get('u3')?.status, 'RUNNING', 'u3 (from 2.1) still RUNNING');
    for (const id of ['u1', 'u3']) {
      const e = await c.ctr(['task', 'exec', '--exec-id', `b-${id}`, id, 'echo', `back-${id}`]);
      t.equal(e.stdout.trim(), `back-${id}`, `exec into ${id} under 1.7`);
      const w = waitTask(c.address, c.namespace, id);
      await c.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
      t.equal(await w, 137, `${id}: killed, waited`);
      await c.ctr(['task', 'delete', id]);
      await c.ctr(['container', 'delete', id]);
    }
    t.same([...(await tasks(c)).keys()], [], 'every task deleted');
  });

  const env = criContainerd(t, { containerd: { version: '1.7' } });

  t.test('CRI pods: 1.7.24 → 2.1.9 → 1.7.24, including a pod whose containers 2.1 placed without start', async (t) => {
    const cri = env.cri;
    const pod17 = await cri.runPod({ name: 'p17', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER });
    const a = await cri.createAndStart(pod17, undefined, { name: 'a', image: env.busybox, command: ['sleep', '1000'] });

    await env.c.replaceWith('2.1');
    await cri.waitReady();
    t.equal((await cri.containerStatus(a)).status?.state, 'CONTAINER_RUNNING', 'a 1.7 container runs under 2.1');
    t.equal((await cri.execSync(a, ['echo', 'a-2.1'])).stdout.toString(), 'a-2.1\n', 'ExecSync under 2.1');
    const b = await cri.createAndStart(pod17, undefined, { name: 'b', image: env.busybox, command: ['sleep', '1000'] });
    t.equal((await cri.execSync(b, ['echo', 'b'])).stdout.toString(), 'b\n', 'a new container in the 1.7 pod');
    const pod21 = await cri.runPod({ name: 'p21', namespace: 'default', runtimeHandler: SWITCHYARD_HANDLER });
    const c21 = await cri.createAndStart(pod21, undefined, { name: 'c', image: env.busybox, command: ['sleep', '1000'] });
    const c21Bundle = path.join(env.c.state, 'io.containerd.runtime.v2.task', 'k8s.io', c21);
    t.equal(fs.readFileSync(path.join(c21Bundle, 'sandbox'), 'utf8'), pod21, 'c was placed on its sandbox shim (version 3, no start)');
    t.match(fs.readFileSync(path.join(c21Bundle, 'address'), 'utf8'), /^unix:\/\//, 'and the daemon left the address 1.7 reads');

    await env.c.replaceWith('1.7');
    await cri.waitReady();
    for (const [name, id] of [['a', a], ['b', b], ['c (placed by 2.1 without start)', c21]] as const) {
      t.equal((await cri.containerStatus(id)).status?.state, 'CONTAINER_RUNNING', `${name}: running under 1.7 again`);
      t.equal((await cri.execSync(id, ['echo', 'ok'])).stdout.toString(), 'ok\n', `${name}: ExecSync`);
    }
    for (const pod of [pod17, pod21]) await cri.stopAndRemovePod(pod);
    t.same(await cri.listPodSandbox(), [], 'both pods removed');
    t.ok(await waitFor(async () => (await env.c.ctr(['tasks', 'ls', '-q'], { namespace: 'k8s.io' })).stdout.trim() === ''), 'no task left');
  });
}

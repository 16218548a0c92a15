// Proves the e2e harness: a private containerd with a clean environment, the offline
// busybox image, `ctr run` with the stock runc v2 shim, exit status propagation, and a
// cleanup that leaves no process, mount, cgroup, runc state or temp dir behind, whether
// containerd is stopped normally, was SIGKILLed, or the test process itself was SIGKILLed.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startContainerd, withContainerd, SYSTEM_PATH, type ContainerdHandle } from './lib/containerd.js';
import { importBusybox, BUSYBOX_REF } from './lib/image.js';
import { requireE2E } from './lib/prereq.js';
import { cgroupMounts, findProcessesReferencing, isAlive, mountsUnder, RUNC_SHIM_ROOT } from './lib/cleanup.js';

function environ(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** Task id → pid from `ctr tasks ls`. */
async function taskPids(c: ContainerdHandle, namespace?: string): Promise<Map<string, number>> {
  const r = await c.ctr(['tasks', 'ls'], { namespace });
  const m = new Map<string, number>();
  for (const line of r.stdout.split('\n').slice(1)) {
    const [id, pid] = line.trim().split(/\s+/);
    if (id && pid && /^\d+$/.test(pid)) m.set(id, Number(pid));
  }
  return m;
}

/** Pids of shims serving this containerd (their cmdline carries `-address <sock>`). */
function shimPids(c: { address: string }, id?: string): number[] {
  return findProcessesReferencing(c.address)
    .filter((p) => p.cmdline.some((a) => a.includes('containerd-shim')) || p.cmdline.includes('-namespace'))
    .filter((p) => id === undefined || p.cmdline.join(' ').includes(`-id ${id}`))
    .map((p) => p.pid);
}

interface Snapshot {
  dir: string;
  containerdPid?: number;
  pids: number[];
  namespaces: string[];
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

// The type of a subtest's `t` (the last t.test overload is `(cb: (t) => any)`).
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

function assertClean(t: TapTest, s: Snapshot): void {
  if (s.containerdPid) t.notOk(isAlive(s.containerdPid), 'containerd is gone');
  const alive = s.pids.filter(isAlive);
  t.same(alive, [], 'shims and container processes are gone');
  const refs = findProcessesReferencing(s.dir).map((p) => `${p.pid} ${p.cmdline.join(' ')}`);
  t.same(refs, [], 'no process references the temp dir (cmdline/cwd/exe)');
  t.same(mountsUnder(s.dir), [], 'no mounts under the temp dir');
  t.notOk(fs.existsSync(s.dir), 'temp dir removed');
  for (const ns of s.namespaces) {
    t.notOk(fs.existsSync(path.join(RUNC_SHIM_ROOT, ns)), `no runc state dir ${RUNC_SHIM_ROOT}/${ns}`);
    const cgs = cgroupMounts()
      .map((m) => path.join(m, ns))
      .filter((p) => fs.existsSync(p));
    t.same(cgs, [], `no cgroup /${ns} left`);
  }
}

if (requireE2E(t)) {
  t.test('private containerd, busybox image, runc shim, full cleanup', async (t) => {
    const t0 = Date.now();
    const c = await startContainerd();
    const startMs = Date.now() - t0;
    t.teardown(() => (c.stopped ? undefined : c.stop().then(() => undefined)));
    t.comment(`containerd ready in ${startMs} ms (snapshotter ${c.snapshotter}, dir ${c.dir})`);
    t.match(path.basename(c.dir), /^switchyard-e2e-/);
    t.equal(c.ttrpcAddress, c.address + '.ttrpc');
    t.ok(fs.existsSync(c.ttrpcAddress), 'ttrpc socket exists at address + .ttrpc');

    const env = environ(c.pid!);
    t.notOk('NODE_EXTRA_CA_CERTS' in env, 'containerd env has no NODE_EXTRA_CA_CERTS');
    const own = c.build.binDir === '/usr/bin' ? [] : [c.build.binDir];
    t.equal(env.PATH, [...own, SYSTEM_PATH].join(':'), `containerd PATH is the clean system PATH, after containerd ${c.build.version}'s own folder`);
    t.same(Object.keys(env).sort(), ['PATH'], 'containerd env holds only PATH');

    const t1 = Date.now();
    const ref = await importBusybox(c);
    t.comment(`image build (cached) + import in ${Date.now() - t1} ms`);
    t.equal(ref, BUSYBOX_REF);

    const hello = await c.ctr(['run', '--rm', ref, 'hello', 'echo', 'hello']);
    t.equal(hello.stdout, 'hello', 'ctr run echo hello prints hello');
    t.equal(hello.exitCode, 0);
    t.comment(`ctr run --rm echo: ${hello.durationMs} ms`);

    const seven = await c.ctr(['run', '--rm', ref, 'seven', 'sh', '-c', 'exit 7'], { reject: false });
    t.equal(seven.exitCode, 7, 'ctr propagates the container exit status as its own');

    const applets = await c.ctr(['run', '--rm', ref, 'applets', 'sh', '-c', 'id -u; ls /bin | wc -l; test -d /tmp && echo tmp']);
    t.match(applets.stdout, /^0\n\d{3}\ntmp$/, 'root, busybox applets, /tmp');

    // Leave things behind on purpose: a running task, a created container, and a task in a
    // second namespace. stop() must clean all of it.
    await c.ctr(['run', '-d', ref, 'sleeper', 'sleep', '600']);
    await c.ctr(['containers', 'create', ref, 'idle', 'sleep', '1']);
    const ns2 = c.newNamespace('sy2');
    await importBusybox(c, ns2);
    await c.ctr(['run', '-d', ref, 'other', 'sleep', '600'], { namespace: ns2 });

    const shims = shimPids(c, 'sleeper');
    t.equal(shims.length, 1, 'one runc shim for the sleeper task');
    const shimEnv = environ(shims[0]!);
    t.notOk('NODE_EXTRA_CA_CERTS' in shimEnv, 'shim env has no NODE_EXTRA_CA_CERTS');
    t.equal(shimEnv.TTRPC_ADDRESS, c.ttrpcAddress, 'shim gets TTRPC_ADDRESS');

    const tasks = [...(await taskPids(c)).values(), ...(await taskPids(c, ns2)).values()];
    t.equal(tasks.length, 2, 'two running tasks');
    const snap: Snapshot = {
      dir: c.dir,
      containerdPid: c.pid,
      pids: [...shimPids(c), ...tasks],
      namespaces: [c.namespace, ns2],
    };
    t.ok(mountsUnder(c.dir).length > 0, 'rootfs mounts exist under the temp dir before stop');

    const t2 = Date.now();
    const report = await c.stop();
    t.comment(`stop in ${Date.now() - t2} ms; forced kills: ${report.killed.length}, unmounted: ${report.unmounted.length}`);
    t.same(report.errors, [], 'cleanup reported no errors');
    assertClean(t, snap);
  });

  t.test('stop() after containerd was SIGKILLed (forced cleanup path)', async (t) => {
    const c = await startContainerd();
    t.teardown(() => (c.stopped ? undefined : c.stop().then(() => undefined)));
    const ref = await importBusybox(c);
    await c.ctr(['run', '-d', ref, 'orphan', 'sleep', '600']);
    // a paused (frozen) task too: SIGKILL does not take effect until it is thawed
    await c.ctr(['run', '-d', ref, 'frozen', 'sh', '-c', 'sleep 600 & sleep 600']);
    await c.ctr(['tasks', 'pause', 'frozen']);
    t.match((await c.ctr(['tasks', 'ls'])).stdout, /frozen\s+\d+\s+PAUSED/);
    const tasks = [...(await taskPids(c)).values()];
    const snap: Snapshot = { dir: c.dir, containerdPid: c.pid, pids: [...shimPids(c), ...tasks], namespaces: [c.namespace] };
    t.equal(snap.pids.length, 4, 'two shims and two container init processes');
    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => !isAlive(snap.containerdPid!), 5000);
    const report = await c.stop();
    // Two runc shims and two container inits at least; a third process per task may or may not exist yet.
      t.ok(report.killed.length >= 4, `forced cleanup killed the orphans (${report.killed.join(' ')})`);
    t.ok(report.unmounted.length >= 2, 'forced cleanup unmounted the rootfs mounts');
    t.equal(report.runtimeDeleted.length, 2, `runc state deleted (${report.runtimeDeleted.join('; ')})`);
    t.same(report.errors, [], 'no cleanup errors');
    assertClean(t, snap);
  });

  t.test('restart(): containerd comes back and reconnects to the running shim', async (t) => {
    const c = await startContainerd();
    t.teardown(() => (c.stopped ? undefined : c.stop().then(() => undefined)));
    const ref = await importBusybox(c);
    await c.ctr(['run', '-d', ref, 'survivor', 'sleep', '600']);
    const before = await taskPids(c);
    const pid1 = c.pid;
    await c.restart();
    t.not(c.pid, pid1, 'new containerd pid');
    const after = await taskPids(c);
    t.equal(after.get('survivor'), before.get('survivor'), 'task survives the restart with the same pid');
    const st = await c.ctr(['tasks', 'ls']);
    t.match(st.stdout, /survivor\s+\d+\s+RUNNING/);
    const snap: Snapshot = { dir: c.dir, containerdPid: c.pid, pids: [pid1!, ...shimPids(c), ...after.values()], namespaces: [c.namespace] };
    await c.stop();
    assertClean(t, snap);
  });

  let teardownDir = '';
  t.test('withContainerd() runs the callback and stops in t.teardown', async (t) => {
    const out = await withContainerd(t, { logLevel: 'debug' }, async (c) => {
      teardownDir = c.dir;
      const ref = await importBusybox(c);
      await c.ctr(['run', '-d', ref, 'left-running', 'sleep', '600']);
      return (await c.ctr(['run', '--rm', ref, 'w1', 'echo', 'with'])).stdout;
    });
    t.equal(out, 'with');
  });
  t.test('... and the teardown removed everything', async (t) => {
    t.ok(teardownDir, 'previous test recorded its dir');
    t.notOk(fs.existsSync(teardownDir), 'temp dir removed by teardown');
    t.same(findProcessesReferencing(teardownDir), [], 'no processes left');
    t.same(mountsUnder(teardownDir), [], 'no mounts left');
  });

  t.test('the reaper cleans up when the test process is SIGKILLed', async (t) => {
    const lib = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib');
    const script = `
      import { startContainerd } from ${JSON.stringify(path.join(lib, 'containerd.js'))};
      import { importBusybox } from ${JSON.stringify(path.join(lib, 'image.js'))};
      const c = await startContainerd();
      const ref = await importBusybox(c);
      await c.ctr(['run', '-d', ref, 'doomed', 'sleep', '600']);
      console.log(JSON.stringify({ dir: c.dir, pid: c.pid, ns: c.namespace }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d) => {
        buf += d;
        const i = buf.indexOf('\n');
        if (i >= 0) resolve(buf.slice(0, i));
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const info = JSON.parse(line) as { dir: string; pid: number; ns: string };
    const pids = findProcessesReferencing(info.dir).map((p) => p.pid);
    t.ok(pids.length >= 2, 'containerd and a shim are running');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const gone = await waitFor(() => !fs.existsSync(info.dir), 20_000);
    t.ok(gone, 'reaper removed the temp dir');
    assertClean(t, { dir: info.dir, containerdPid: info.pid, pids, namespaces: [info.ns] });
  });
}

/**
 * Faults, each with nothing lost and nothing leaked afterwards: a runtime that hangs, the
 * runtime killed in the middle of a create, the daemon killed in the middle of a Create.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from './lib/prereq.js';
import { RUNTIME, daemonPids, fixtureRuntime, switchyardContainerd } from './lib/switchyard.js';
import { importBusybox } from './lib/image.js';
import { isAlive, mountsUnder } from './lib/cleanup.js';
import { waitFor } from './lib/wait.js';
import { execa } from 'execa';
import { TtrpcClient } from '../../src/transport/ttrpc/client.js';
import { taskServiceV2 } from '../../src/api/task.js';
import { socketAddress } from '../../src/shim/address.js';

if (requireE2E(t)) {
  const env = switchyardContainerd(t);
  const KEY = 'switchyard.dev/runtime';

  /** A namespace whose `faulty` runtime is runc behind runc-faulty.sh, with a 2 s call limit. */
  const setup = async (t: Test, timeout = '2s') => {
    const { dir, binary: wrapper, ns, root, config } = await fixtureRuntime(t, env.c, { fixture: 'runc-faulty.sh', binary: 'runc', nsPrefix: 'ft', rootName: 'root' });
    fs.writeFileSync(config, [`runtime_timeout = "${timeout}"`, '[runtimes.faulty]', `binary = "${wrapper}"`, 'flavour = "runc"', `root = "${root}"`, ''].join('\n'));
    const hang = (cmd: string) => fs.writeFileSync(path.join(dir, `hang-${cmd}`), '');
    const unhang = (cmd: string) => fs.rmSync(path.join(dir, `hang-${cmd}`), { force: true });
    // The hung "runtime" writes its pid (it then execs sleep under the same pid).
    const hung = (): number[] => {
      try {
        const pid = Number(fs.readFileSync(path.join(dir, 'hung.pid'), 'utf8'));
        return isAlive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep') ? [pid] : [];
      } catch {
        return [];
      }
    };
    t.teardown(() => {
      for (const pid of hung()) process.kill(pid, 'SIGKILL');
    });
    const run = (id: string, args: string[], flags: string[] = []) =>
      env.c.ctrProcess(['run', ...flags, '--annotation', `${KEY}=faulty`, '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, id, ...args], { namespace: ns, reject: false, timeoutMs: 60_000 });
    const bundle = (id: string) => path.join(env.c.state, 'io.containerd.runtime.v2.task', ns, id);
    return { dir, ns, root, hang, unhang, hung, run, bundle };
  };

  t.test('a runtime that hangs: the call times out, and the error names it', async (t) => {
    const f = await setup(t);
    f.hang('start');
    const r = await f.run('hangs', ['true'], ['--rm']);
    t.not(r.exitCode, 0);
    t.match(r.stderr, /runc start: timed out after 2000 ms/, `names the call: ${r.stderr}`);
    t.equal(f.hung().length, 0, 'the hung runtime process was killed');
    f.unhang('start');
    // ctr run leaves the created task behind when Start fails; a client's delete clears it.
    await env.c.ctr(['task', 'delete', '-f', 'hangs'], { namespace: f.ns, reject: false });
    await env.c.ctr(['container', 'delete', 'hangs'], { namespace: f.ns, reject: false });
    t.equal(mountsUnder(f.bundle('hangs')).length, 0, 'no mount left');
    t.notOk(fs.existsSync(path.join(f.root, f.ns, 'hangs')), 'no runtime state left');
    const ok = await f.run('after', ['echo', 'fine'], ['--rm']);
    t.equal(ok.stdout, 'fine', 'the next container runs');
  });

  t.test('the runtime killed in the middle of create: Create fails, nothing is left', async (t) => {
    const f = await setup(t, '30s');
    f.hang('create');
    const p = f.run('killed-rt', ['true'], ['--rm']);
    t.ok(await waitFor(() => f.hung().length > 0, 15_000), 'create is running');
    // Meanwhile the same daemon serves another task on a healthy runtime, unstalled.
    const other = await env.c.ctr(['run', '--rm', '--runtime', RUNTIME, env.ref, 'bystander', 'echo', 'unstalled'], { namespace: f.ns, reject: false, timeoutMs: 20_000 });
    t.equal(other.stdout, 'unstalled', 'a hung backend does not stall another task');
    for (const pid of f.hung()) process.kill(pid, 'SIGKILL');
    const r = await p;
    t.not(r.exitCode, 0);
    t.match(r.stderr, /runc create: /, `names the call: ${r.stderr}`);
    f.unhang('create');
    t.equal(mountsUnder(f.bundle('killed-rt')).length, 0, 'no mount left');
    t.notOk(fs.existsSync(path.join(f.root, f.ns, 'killed-rt')), 'no runtime state left');
    const ok = await f.run('after2', ['echo', 'fine'], ['--rm']);
    t.equal(ok.stdout, 'fine', 'the daemon serves the next one');
  });

  t.test('the daemon killed in the middle of a Create: containerd cleans up through delete; a new daemon serves', async (t) => {
    const f = await setup(t, '30s');
    f.hang('create');
    const p = f.run('killed-d', ['true'], ['--rm']);
    t.ok(await waitFor(() => f.hung().length > 0, 15_000), 'create is running');
    const daemons = daemonPids(env.c);
    for (const d of daemons) process.kill(d, 'SIGKILL');
    const r = await p;
    t.not(r.exitCode, 0, `Create failed: ${r.stderr}`);
    for (const pid of f.hung()) process.kill(pid, 'SIGKILL');
    f.unhang('create');
    t.ok(await waitFor(() => mountsUnder(f.bundle('killed-d')).length === 0, 10_000), 'no rootfs mount left');
    t.notOk(daemons.some((d) => isAlive(d)), 'the old daemon is gone');
    const ok = await f.run('after3', ['echo', 'fine'], ['--rm']);
    t.equal(ok.stdout, 'fine', 'a new daemon serves the next one');
  });

  t.test('containerd restarted during an exec: the exec finishes and its exit is still known', async (t) => {
    const c = env.c;
    await c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, 'rx', 'sleep', '1000']);
    // Detached: ctr 2.x forwards every signal it gets to the process, and the SIGPIPE of its
    // broken containerd connection would end the exec with 141 (the client's doing, not ours).
    await c.ctr(['task', 'exec', '--detach', '--exec-id', 'during', 'rx', 'sh', '-c', 'sleep 2; exit 5']);
    await new Promise((r) => setTimeout(r, 500));
    await c.restart(); // the exec did not lose its shim
    const client = await TtrpcClient.connect(socketAddress(c.address, c.namespace, 'switchyard:ttrpc'));
    t.teardown(() => client.close());
    const task = client.service(taskServiceV2);
    const w = await task.Wait({ id: 'rx', execId: 'during' }, { timeoutMs: 15_000 });
    t.equal(w.exitStatus, 5, 'the exec exit status survived the restart');
    const st = await task.State({ id: 'rx', execId: 'during' });
    t.equal(st.exitStatus, 5);
    t.equal((await c.ctr(['task', 'ls'])).stdout.match(/rx\s+\d+\s+(\w+)/)?.[1], 'RUNNING', 'the task is still running');
    await task.Delete({ id: 'rx', execId: 'during' });
    await c.ctr(['task', 'kill', '-s', 'SIGKILL', 'rx']);
    await waitFor(async () => /rx\s+\d+\s+STOPPED/.test((await c.ctr(['task', 'ls'])).stdout));
    await c.ctr(['task', 'delete', 'rx']);
    await c.ctr(['container', 'delete', 'rx']);
  });

  t.test('the FIFO reader gone while the container writes: no SIGPIPE, output resumes on attach', async (t) => {
    const c = env.c;
    // ctr run -d opens the FIFOs, starts the task and exits: nobody reads from then on.
    await c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, 'talker', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo line-$i; usleep 2000; done']);
    await new Promise((r) => setTimeout(r, 2000));
    t.match((await c.ctr(['task', 'ls'])).stdout, /talker\s+\d+\s+RUNNING/, 'still running with its output full and unread');
    const at = c.ctrProcess(['task', 'attach', 'talker'], { reject: false });
    let out = '';
    at.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    t.ok(await waitFor(() => /line-\d+\n(?:.*\n)*line-\d+/.test(out), 10_000), 'output flows again to a new reader');
    const nums = [...out.matchAll(/line-(\d+)/g)].map((m) => Number(m[1]));
    t.ok(nums.length > 1 && nums[nums.length - 1]! > nums[0]!, 'and keeps counting');
    at.kill();
    await at.catch(() => undefined);
    await c.ctr(['task', 'kill', '-s', 'SIGKILL', 'talker']);
    await waitFor(async () => /talker\s+\d+\s+STOPPED/.test((await c.ctr(['task', 'ls'])).stdout));
    await c.ctr(['task', 'delete', 'talker']);
    await c.ctr(['container', 'delete', 'talker']);
  });

  t.test('a full disk under the bundle: Create fails saying so, nothing is left, the next one runs', async (t) => {
    const c = env.c;
    const ns = c.newNamespace('full');
    await importBusybox(c, ns);
    const nsDir = path.join(c.state, 'io.containerd.runtime.v2.task', ns);
    fs.mkdirSync(nsDir, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'switchyard-full', nsDir]);
    t.teardown(() => execa('umount', ['-l', nsDir], { reject: false }));
    // Leave room for containerd's config.json and nothing more.
    const filler = path.join(nsDir, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(256 * 1024 - 3 * 4096));
    const r = await c.ctr(['run', '--rm', '--runtime', RUNTIME, env.ref, 'nospace', 'echo', 'never'], { namespace: ns, reject: false });
    t.not(r.exitCode, 0);
    t.notMatch(r.stdout, /never/);
    t.match(r.stderr, /ENOSPC|no space/i, `says why: ${r.stderr}`);
    t.equal(mountsUnder(path.join(nsDir, 'nospace')).length, 0, 'no rootfs mount left');
    fs.rmSync(filler);
    await c.ctr(['container', 'delete', 'nospace'], { namespace: ns, reject: false });
    const ok = await c.ctr(['run', '--rm', '--runtime', RUNTIME, env.ref, 'space', 'echo', 'fine'], { namespace: ns, reject: false });
    t.equal(ok.stdout, 'fine', 'with space again, the next container runs');
  });
}

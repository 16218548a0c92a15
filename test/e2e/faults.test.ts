/**
 * Faults, each with nothing lost and nothing leaked afterwards: a runtime that hangs, the
 * runtime killed in the middle of a create, the daemon killed in the middle of a Create.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from './lib/prereq.js';
import { RUNTIME, daemonPids, switchyardContainerd } from './lib/switchyard.js';
import { importBusybox, repoRoot } from './lib/image.js';
import { isAlive, mountsUnder } from './lib/cleanup.js';
import { waitFor } from './lib/wait.js';
import { tempDir } from '../helpers/tmp.js';

if (requireE2E(t)) {
  const env = switchyardContainerd(t);
  const KEY = 'switchyard.dev/runtime';

  /** A namespace whose `faulty` runtime is runc behind runc-faulty.sh, with a 2 s call limit. */
  const setup = async (t: Test, timeout = '2s') => {
    const dir = tempDir(t);
    const wrapper = path.join(dir, 'runc');
    fs.copyFileSync(path.join(repoRoot(), 'test/e2e/fixtures/runc-faulty.sh'), wrapper);
    fs.chmodSync(wrapper, 0o755);
    const ns = env.c.newNamespace('ft');
    await importBusybox(env.c, ns);
    const root = path.join(dir, 'root');
    env.c.addRuntimeRoot(path.join(root, ns));
    const config = path.join(dir, 'config.toml');
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
}

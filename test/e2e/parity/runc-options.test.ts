/**
 * runc's options as containerd's own clients send them, honoured as runc-v2 does:
 * - `ctr run --runtime io.containerd.runc.v2 --runc-binary B --runc-root R` (containerd's
 *   client sends containerd.runc.v1.Options) with our shim installed under runc-v2's name:
 *   runc runs as B under R/<ns>, and a runc delete on that root is seen by the next Kill;
 * - Tasks/Create with every runc option (as containerd's Go client NewTask sends them);
 * - Tasks/Create with the v1 runtime's containerd.linux.runc.CreateOptions, which
 *   containerd's client sends for a runtime not named io.containerd.runc* (WithShimCgroup,
 *   IO uid/gid): accepted and mapped.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs/minimal.js';
import { execa } from 'execa';
import { requireE2E, which } from '../lib/prereq.js';
import { makeE2EDir, startContainerd, type ContainerdHandle } from '../lib/containerd.js';
import { importBusybox, repoRoot } from '../lib/image.js';
import { RUNTIME, shimPathOptions } from '../lib/switchyard.js';
import { createTaskWithOptions, startTask } from '../lib/tasks-api.js';
import { waitFor } from '../lib/wait.js';
import { containerd as pb } from '../../../src/gen/proto.js';

const RUNC_OPTIONS = 'containerd.runc.v1.Options';
const LEGACY_OPTIONS = 'containerd.linux.runc.CreateOptions';

if (requireE2E(t)) {
  let c: ContainerdHandle;
  let ref = '';
  let dir = '';
  let wrapper = '';
  let calls = '';

  t.before(async () => {
    dir = makeE2EDir();
    // Our shim under runc-v2's name, first on containerd's PATH: ctr then sends it runc's options.
    const alias = path.join(dir, 'alias');
    fs.mkdirSync(alias);
    fs.symlinkSync(path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs'), path.join(alias, 'containerd-shim-runc-v2'));
    // A runc that writes down how it was called; it drops --systemd-cgroup (no systemd
    // here) after recording it: the flag reaching runc is what is checked.
    calls = path.join(dir, 'runc-calls');
    wrapper = path.join(dir, 'runc-wrap');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\necho "$*" >> ${calls}\nn=$#\ni=0\nwhile [ $i -lt $n ]; do a=$1; shift; [ "$a" = --systemd-cgroup ] || set -- "$@" "$a"; i=$((i+1)); done\nexec ${which('runc')} "$@"\n`,
      { mode: 0o755 },
    );
    c = await startContainerd({ dir, pathPrefix: [alias, ...shimPathOptions().pathPrefix!] });
    ref = await importBusybox(c);
  });
  t.teardown(() => c?.stop());

  const status = async (id: string) => new RegExp(`^${id}\\s+\\d+\\s+(\\S+)`, 'm').exec((await c.ctr(['task', 'ls'])).stdout)?.[1];
  const callsOf = (id: string) => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '').split('\n').filter((l) => l.split(' ').includes(id));
  const remove = async (id: string) => {
    await c.ctr(['task', 'kill', '-s', 'SIGKILL', id], { reject: false });
    await waitFor(async () => (await status(id)) !== 'RUNNING');
    await c.ctr(['task', 'delete', id], { reject: false });
    await c.ctr(['container', 'delete', id], { reject: false });
  };

  t.test('ctr --runc-binary and --runc-root: runc runs as that binary under <root>/<ns>', async (t) => {
    const root = path.join(dir, 'ctr-root');
    c.addRuntimeRoot(path.join(root, c.namespace));
    await c.ctr(['run', '-d', '--runtime', 'io.containerd.runc.v2', '--runc-binary', wrapper, '--runc-root', root, ref, 'ro1', 'sleep', '1000']);
    t.ok(await waitFor(async () => (await status('ro1')) === 'RUNNING'), 'running');
    t.ok(fs.existsSync(path.join(root, c.namespace, 'ro1', 'state.json')), "runc's state is under <root>/<ns>");
    t.ok(callsOf('ro1').some((l) => l.startsWith(`--root ${path.join(root, c.namespace)} `) && l.includes(' create ')), 'created by the given binary with that root');
    // As a client that manages runc on the root it configured: a runc delete is seen by us.
    const del = await execa(which('runc')!, ['--root', path.join(root, c.namespace), 'delete', '--force', 'ro1'], { reject: false });
    t.equal(del.exitCode, 0, `runc delete on the configured root: ${del.stderr}`);
    t.ok(await waitFor(async () => (await status('ro1')) === 'STOPPED'), 'the task stopped');
    const kill = await c.ctr(['task', 'kill', 'ro1'], { reject: false });
    t.not(kill.exitCode, 0);
    // containerd's client words a NotFound from Kill as "process already finished".
    t.match(kill.stderr, /process already finished|not found/i, `the next Kill: NotFound (${kill.stderr.trim()})`);
    await remove('ro1');
  });

  t.test('Tasks/Create with every runc option that changes how runc runs', async (t) => {
    const root = path.join(dir, 'api-root');
    c.addRuntimeRoot(path.join(root, c.namespace));
    await c.ctr(['container', 'create', '--runtime', RUNTIME, ref, 'ro2', 'sleep', '1000']);
    const value = pb.runc.v1.Options.encode({
      binaryName: wrapper, root, systemdCgroup: true, noPivotRoot: true, noNewKeyring: true, criuPath: '/usr/local/sbin/criu-of-choice',
    }).finish();
    const pid = await createTaskWithOptions(c.address, c.namespace, 'ro2', c.snapshotter, { typeUrl: RUNC_OPTIONS, value });
    t.ok(pid > 0, `created, pid ${pid}`);
    await startTask(c.address, c.namespace, 'ro2');
    t.ok(await waitFor(async () => (await status('ro2')) === 'RUNNING'), 'running');
    const create = callsOf('ro2').find((l) => l.includes(' create '));
    t.ok(create, `runc create ran through BinaryName: ${create}`);
    t.match(create, `--root ${path.join(root, c.namespace)} `, 'Root');
    t.match(create, '--systemd-cgroup', 'SystemdCgroup');
    t.match(create, '--criu /usr/local/sbin/criu-of-choice', 'CriuPath');
    t.match(create, '--no-pivot', 'NoPivotRoot');
    t.match(create, '--no-new-keyring', 'NoNewKeyring');
    t.ok(callsOf('ro2').some((l) => l.includes(' start ')), 'start through the same binary');
    await remove('ro2');
    t.ok(callsOf('ro2').some((l) => l.includes(' delete ')), 'delete through the same binary');
  });

  // containerd 2.x no longer knows the type: its Tasks service refuses it before any shim
  // sees it. containerd 1.7's client and service pass it on, so that is where it is proven.
  t.test('Tasks/Create with the legacy containerd.linux.runc.CreateOptions: accepted and mapped (containerd 1.7)', async (t) => {
    // no_pivot_root = 1, no_new_keyring = 8, io_uid = 10, io_gid = 11 (0: root, as the caller asked).
    const value = protobuf.Writer.create().uint32(0x08).bool(true).uint32(0x40).bool(true).uint32(0x50).uint32(0).uint32(0x58).uint32(0).finish();
    // Our runc is the recording one, named by the daemon's config (ctr's container create
    // sends no runtime options to carry a config path).
    const config = path.join(dir, 'legacy.toml');
    const croot = path.join(dir, 'legacy-root');
    fs.writeFileSync(config, `[runtimes.runc]\ntype = "oci"\nbinary = ${JSON.stringify(wrapper)}\nroot = ${JSON.stringify(croot)}\n`);
    if (c.build.version.startsWith('2.')) {
      await c.ctr(['container', 'create', '--runtime', RUNTIME, ref, 'ro3x', 'true']);
      await t.rejects(
        createTaskWithOptions(c.address, c.namespace, 'ro3x', c.snapshotter, { typeUrl: LEGACY_OPTIONS, value }),
        /type with url containerd.linux.runc.CreateOptions: not found/,
        `containerd ${c.build.version} itself refuses the type`,
      );
      await c.ctr(['container', 'delete', 'ro3x']);
    }
    const c1 = await startContainerd({ version: c.build.version.startsWith('2.') ? '1.7' : c.build.version, ...shimPathOptions(), env: { SWITCHYARD_CONFIG: config } });
    t.teardown(() => c1.stop());
    const ref1 = await importBusybox(c1);
    c1.addRuntimeRoot(path.join(croot, c1.namespace));
    await c1.ctr(['container', 'create', '--runtime', RUNTIME, ref1, 'ro3', 'sleep', '1000']);
    const pid = await createTaskWithOptions(c1.address, c1.namespace, 'ro3', c1.snapshotter, { typeUrl: LEGACY_OPTIONS, value });
    t.ok(pid > 0, `created on containerd ${c1.build.version}, pid ${pid}`);
    await startTask(c1.address, c1.namespace, 'ro3');
    const status1 = async () => /^ro3\s+\d+\s+(\S+)/m.exec((await c1.ctr(['task', 'ls'])).stdout)?.[1];
    t.ok(await waitFor(async () => (await status1()) === 'RUNNING'), 'running');
    const create = callsOf('ro3').find((l) => l.includes(' create '));
    t.ok(create, `runc create: ${create}`);
    t.match(create, `--root ${path.join(croot, c1.namespace)} `, "the config's runc, under its root");
    t.match(create, '--no-pivot', 'no_pivot_root mapped');
    t.match(create, '--no-new-keyring', 'no_new_keyring mapped');
    await c1.ctr(['task', 'kill', '-s', 'SIGKILL', 'ro3'], { reject: false });
    await waitFor(async () => (await status1()) !== 'RUNNING');
    await c1.ctr(['task', 'delete', 'ro3'], { reject: false });
    await c1.ctr(['container', 'delete', 'ro3'], { reject: false });
  });
}

/**
 * The bootstrap with real containerd, driven with its own ctr (SWITCHYARD_E2E_CONTAINERD):
 * what `start` answered (version 3 to containerd 2.x, a plain address to 1.6 and 1.7),
 * gRPC through ctr (2.x with version 3, 1.7 with version 2, refused on 1.6 with the reason),
 * `-info` through containerd 2.x's Introspection API, and a shim binary given to containerd
 * by absolute path: a symlink elsewhere, a copy in a PREFIX/bin beside PREFIX/lib/switchyard,
 * and a lone copy that says what it misses.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from './lib/prereq.js';
import { RUNTIME, switchyardContainerd } from './lib/switchyard.js';
import { repoRoot } from './lib/image.js';
import { runtimePluginInfo } from './lib/tasks-api.js';
import { tempDir } from '../helpers/tmp.js';
import { containerdBuild } from './lib/containerd-version.js';
import { waitFor } from './lib/wait.js';
import { containerd as pb } from '../../src/gen/proto.js';
import { FEATURES_TYPE_URL } from '../../src/shim/info.js';

if (requireE2E(t)) {
  const env = switchyardContainerd(t);
  const bundle = (id: string, file: string) => {
    try {
      return fs.readFileSync(path.join(env.c.state, 'io.containerd.runtime.v2.task', env.c.namespace, id, file), 'utf8');
    } catch {
      return undefined;
    }
  };

  t.test('what start answered, and a task served that way', async (t) => {
    const v3 = env.c.build.configVersion === 3;
    await env.c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, 'boot', 'sleep', '1000']);
    t.match(bundle('boot', 'address'), /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/, 'address: the plain form 1.6/1.7 read back');
    if (v3) t.match(JSON.parse(bundle('boot', 'bootstrap.json') ?? '{}'), { version: 3, protocol: 'ttrpc' }, `containerd ${env.c.build.version} took version 3`);
    else t.notOk(bundle('boot', 'bootstrap.json'), `containerd ${env.c.build.version} keeps no bootstrap.json`);
    const ex = await env.c.ctr(['task', 'exec', '--exec-id', 'e1', 'boot', 'sh', '-c', 'echo from-exec; exit 3'], { reject: false });
    t.equal(ex.stdout.trim(), 'from-exec');
    t.equal(ex.exitCode, 3, v3 ? 'exec over Task v3' : 'exec over Task v2');
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'boot']);
    t.ok(await waitFor(async () => /boot\s+\d+\s+STOPPED/.test((await env.c.ctr(['task', 'ls'])).stdout)), 'stopped');
    await env.c.ctr(['task', 'delete', 'boot']);
    await env.c.ctr(['container', 'delete', 'boot']);
  });

  t.test(`gRPC through ctr on containerd ${containerdBuild().version}`, async (t) => {
    const dir = tempDir(t);
    const config = path.join(dir, 'config.toml');
    const state = path.join(dir, 'state');
    fs.writeFileSync(config, `protocol = "grpc"\nidle_timeout = "1s"\nstate_dir = ${JSON.stringify(state)}\nruntime_root = ${JSON.stringify(path.join(dir, 'runc'))}\n`);
    env.c.addRuntimeRoot(path.join(dir, 'runc', env.c.namespace));
    const run = (id: string, args: string[], flags: string[] = []) =>
      env.c.ctr(['run', ...flags, '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, id, ...args], { reject: false });
    if (env.c.build.version === '1.6') {
      const r = await run('g16', ['true'], ['--rm']);
      t.not(r.exitCode, 0);
      t.match(r.stderr, /containerd 1\.6\.\S+ cannot use a gRPC shim \(1\.7 or later can\): set protocol = "ttrpc"/, 'refused with the reason');
      await env.c.ctr(['container', 'delete', 'g16'], { reject: false });
      return;
    }
    if (env.c.build.configVersion === 3) {
      const r = await run('g2x', ['true'], ['--rm']);
      t.not(r.exitCode, 0);
      t.match(r.stderr, /drops gRPC shim connections as soon as it makes them.*set protocol = "ttrpc"/, 'refused with the reason');
      await env.c.ctr(['container', 'delete', 'g2x'], { reject: false });
      return;
    }
    const hello = await run('ghello', ['sh', '-c', 'echo over-grpc; exit 7'], ['--rm']);
    t.equal(hello.stdout.trim(), 'over-grpc');
    t.equal(hello.exitCode, 7, 'the exit code came back over gRPC');
    await run('glong', ['sleep', '1000'], ['-d']);
    t.match(JSON.parse(bundle('glong', 'address') ?? '{}'), { version: 2, protocol: 'grpc' }, 'containerd 1.7 took gRPC with version 2');
    const ex = await env.c.ctr(['task', 'exec', '--exec-id', 'ge', 'glong', 'sh', '-c', 'echo exec-grpc; exit 4'], { reject: false });
    t.equal(ex.stdout.trim(), 'exec-grpc');
    t.equal(ex.exitCode, 4);
    const ps = await env.c.ctr(['task', 'ps', 'glong']);
    t.match(ps.stdout, /^\d+/m, 'task ps over gRPC');
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'glong']);
    t.ok(await waitFor(async () => /glong\s+\d+\s+STOPPED/.test((await env.c.ctr(['task', 'ls'])).stdout)), 'killed');
    await env.c.ctr(['task', 'delete', 'glong']);
    await env.c.ctr(['container', 'delete', 'glong']);
    // With no task left the gRPC daemon idles out and removes its socket.
    const daemons = path.join(state, 'daemons');
    t.ok(await waitFor(() => !fs.existsSync(daemons) || fs.readdirSync(daemons).length === 0, 15_000), 'the gRPC daemon exited');
  });

  // containerd 1.x has no runtime PluginInfo: nothing there runs `-info`.
  if (containerdBuild().configVersion === 3) {
    t.test('-info through containerd 2.x Introspection PluginInfo', async (t) => {
      const bytes = await runtimePluginInfo(env.c.address, RUNTIME);
      const info = pb.types.RuntimeInfo.decode(bytes);
      t.equal(info.name, RUNTIME);
      t.ok(info.version?.version, `version ${info.version?.version}`);
      t.equal(info.features?.type_url, FEATURES_TYPE_URL);
      const features = JSON.parse(Buffer.from(info.features?.value ?? []).toString()) as { ociVersionMin?: string };
      t.ok(features.ociVersionMin, "the default runtime's features document");
      t.equal(info.annotations?.['switchyard.dev/default-runtime'], 'runc');
    });
  }

  t.test('a shim binary given by absolute path: symlinked, copied into a PREFIX, or alone', async (t) => {
    const dir = tempDir(t);
    const real = path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs');
    const linked = path.join(dir, 'links', 'containerd-shim-switchyard-v2');
    fs.mkdirSync(path.dirname(linked));
    fs.symlinkSync(real, linked);
    // make install's layout with the binary copied (not linked) into PREFIX/bin.
    const prefix = path.join(dir, 'prefix');
    fs.mkdirSync(path.join(prefix, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(prefix, 'lib'));
    fs.symlinkSync(repoRoot(), path.join(prefix, 'lib', 'switchyard'));
    const copied = path.join(prefix, 'bin', 'containerd-shim-switchyard-v2');
    fs.copyFileSync(real, copied);
    fs.chmodSync(copied, 0o755);
    for (const [name, bin] of [['linked', linked], ['copied', copied]] as const) {
      const r = await env.c.ctr(['run', '--rm', '--runtime', bin, env.ref, `abs-${name}`, 'echo', name], { reject: false });
      t.equal(r.stdout.trim(), name, `${name}: ${r.stderr.trim()}`);
      t.equal(r.exitCode, 0);
    }
    const alone = path.join(dir, 'alone', 'containerd-shim-switchyard-v2');
    fs.mkdirSync(path.dirname(alone));
    fs.copyFileSync(real, alone);
    fs.chmodSync(alone, 0o755);
    // Only when nothing is installed where `make install` puts it can a lone copy fail.
    if (!fs.existsSync('/usr/local/lib/switchyard/dist/src/shim/main.cjs')) {
      const r = await env.c.ctr(['run', '--rm', '--runtime', alone, env.ref, 'abs-alone', 'true'], { reject: false });
      t.not(r.exitCode, 0);
      t.match(r.stderr, /cannot find Switchyard's code \(dist\/src\/shim\/main\.cjs\) in .*set SWITCHYARD_HOME/, 'a clear message, not "Cannot find module"');
      await env.c.ctr(['container', 'delete', 'abs-alone'], { reject: false });
    }
  });
}

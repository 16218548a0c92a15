/**
 * How often containerd runs our binary for a pod, and over which transport it talks to the
 * daemon, per containerd version (SWITCHYARD_E2E_CONTAINERD):
 * - 2.1: `start` answers bootstrap version 3, so containerd runs the binary once for
 *   `start` and once for `delete` for the whole pod (as for runc-v2), and speaks Task v3;
 * - 1.7 and 1.6: a plain address, the binary runs per container, and everything works.
 * gRPC through CRI: 1.7 takes it (JSON version 2, Task v3 over gRPC); 1.6 cannot, and 2.x
 * drops a gRPC shim's connection as it makes it: both are refused with the reason. The
 * counting wrapper is handed to containerd by absolute path (`runtime_path`) on 1.7 and
 * 2.1, by its name on PATH on 1.6 (whose client never sends runtime_path). Last, `doctor`
 * and `install` on the config this containerd runs with.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE, switchyardHandler, type CriEnv } from '../lib/cri-env.js';
import { containerdBuild, reusesSandboxShim } from '../lib/containerd-version.js';
import { COUNTED_RUNTIME, shimCounter } from '../lib/shim-counter.js';
import { daemonPids } from '../lib/switchyard.js';
import { waitFor } from '../lib/wait.js';
import { repoRoot } from '../lib/image.js';
import { SYSTEM_PATH } from '../lib/containerd.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const build = containerdBuild();

function bundleFile(env: CriEnv, id: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(env.c.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE, id, file), 'utf8');
  } catch {
    return undefined;
  }
}

if (requireE2E(t)) {
  const dir = fs.mkdtempSync('/tmp/switchyard-counter-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const counter = shimCounter(dir);
  const env = criContainerd(t, {
    containerd: { pathPrefix: [dir] },
    handlers: {
      // By absolute path where containerd honours runtime_path (1.7, 2.x), else by name on PATH.
      counted: switchyardHandler({ runtimeType: COUNTED_RUNTIME, settings: build.version === '1.6' ? {} : { runtime_path: counter.binary } }),
      grpc: switchyardHandler({ switchyardConfig: { protocol: 'grpc' } }),
    },
  });

  t.test(`a pod of three containers on containerd ${build.version}: shim binary runs and bootstrap`, async (t) => {
    const before = counter.runs().length;
    const pod = await env.cri.runPod({ name: 'three', namespace: 'default', runtimeHandler: 'counted' });
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      ids.push(await env.cri.createAndStart(pod, undefined, { name, image: env.busybox, command: ['sh', '-c', `echo ${name} > /tmp/name; sleep 1000`] }));
    }
    for (const [i, id] of ids.entries()) {
      const r = await env.cri.execSync(id, ['cat', '/tmp/name']);
      t.equal(r.stdout.toString().trim(), ['a', 'b', 'c'][i], `ExecSync in container ${['a', 'b', 'c'][i]}`);
    }
    t.equal(daemonPids(env.c).length, 1, 'one daemon serves the pod');
    const starts = counter.runs().slice(before).filter((a) => a === 'start').length;
    if (reusesSandboxShim(build)) {
      t.equal(starts, 1, 'start ran once for the whole pod');
      t.match(JSON.parse(bundleFile(env, pod, 'bootstrap.json') ?? '{}'), { version: 3, protocol: 'ttrpc' }, 'the sandbox bootstrapped version 3');
      for (const id of ids) {
        t.equal(bundleFile(env, id, 'sandbox'), pod, `container ${id.slice(0, 12)} placed in the sandbox's shim`);
        t.match(JSON.parse(bundleFile(env, id, 'bootstrap.json') ?? '{}'), { version: 3 }, 'reusing its connection');
        t.match(bundleFile(env, id, 'address'), /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/, 'the daemon left the address 1.7 would read');
      }
    } else {
      t.equal(starts, 4, 'start ran for the sandbox and each container');
      for (const id of [pod, ...ids]) t.match(bundleFile(env, id, 'address'), /^unix:\/\//, `plain address for ${id.slice(0, 12)}`);
    }
    const runsBeforeTeardown = counter.runs().length;
    await env.cri.stopAndRemovePod(pod);
    const wantDeletes = reusesSandboxShim(build) ? 1 : 4;
    // containerd runs `delete` after each connection closes, a moment after the RPC returns.
    await waitFor(() => counter.runs().slice(runsBeforeTeardown).filter((a) => a === 'delete').length >= wantDeletes, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    const deletes = counter.runs().slice(runsBeforeTeardown).filter((a) => a === 'delete').length;
    t.equal(deletes, wantDeletes, reusesSandboxShim(build) ? 'delete ran once for the whole pod' : 'delete ran per container');
    t.same(
      counter.runs().slice(before).filter((a) => a !== 'start' && a !== 'delete'),
      [],
      'nothing else ran the binary',
    );
  });

  t.test(`gRPC through CRI on containerd ${build.version}`, async (t) => {
    if (build.version === '1.6') {
      const err = await env.cri.runPod({ name: 'grpc16', namespace: 'default', runtimeHandler: 'grpc' }).catch((e: Error) => e);
      t.match(String((err as Error)?.message), /cannot use a gRPC shim \(1\.7 or later can\): set protocol = "ttrpc"/, 'refused, saying why');
      return;
    }
    if (build.configVersion === 3) {
      // containerd 2.x takes a fresh gRPC shim connection for closed (see test/e2e/bootstrap.test.ts).
      const err = await env.cri.runPod({ name: 'grpc2x', namespace: 'default', runtimeHandler: 'grpc' }).catch((e: Error) => e);
      t.match(String((err as Error)?.message), /drops gRPC shim connections as soon as it makes them.*set protocol = "ttrpc"/, 'refused, saying why');
      return;
    }
    const pod = await env.cri.runPod({ name: 'grpc', namespace: 'default', runtimeHandler: 'grpc' });
    const ids = [
      await env.cri.createAndStart(pod, undefined, { name: 'x', image: env.busybox, command: ['sleep', '1000'] }),
      await env.cri.createAndStart(pod, undefined, { name: 'y', image: env.busybox, command: ['sh', '-c', 'echo out-y; sleep 1000'] }),
    ];
    for (const id of ids) t.equal((await env.cri.execSync(id, ['echo', 'hi'])).stdout.toString(), 'hi\n', `ExecSync over gRPC in ${id.slice(0, 12)}`);
    t.match(JSON.parse(bundleFile(env, pod, 'address') ?? '{}'), { version: 2, protocol: 'grpc' }, 'containerd 1.7 connected over gRPC, version 2');
    for (const id of ids) t.match(JSON.parse(bundleFile(env, id, 'address') ?? '{}'), { version: 2, protocol: 'grpc' }, `and so for ${id.slice(0, 12)}`);
    const cards = fs.readdirSync(path.join(env.switchyardStateDir, 'daemons')).map((k) => {
      try {
        return JSON.parse(fs.readFileSync(path.join(env.switchyardStateDir, 'daemons', k, 'daemon.json'), 'utf8')) as { protocol: string };
      } catch {
        return undefined;
      }
    });
    t.ok(cards.some((c) => c?.protocol === 'grpc'), 'a gRPC daemon serves it');
    await env.cri.stopAndRemovePod(pod);
    t.same(await env.cri.listContainers({ pod_sandbox_id: pod }), [], 'pod removed');
  });

  t.test(`doctor reads the config containerd ${build.version} runs with (version ${build.configVersion})`, async (t) => {
    const cli = (args: string[]) =>
      execFileAsync(process.execPath, [path.join(repoRoot(), 'bin', 'switchyard.js'), ...args], { env: { PATH: `${build.binDir}:${SYSTEM_PATH}`, SWITCHYARD_CONFIG: env.switchyardConfigPath } }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    const r = await cli(['doctor', '--containerd-config', env.c.configPath, '--json']);
    const findings = (JSON.parse(r.out) as { findings: { check: string; ok: boolean; detail: string }[] }).findings;
    const ours = findings.filter((f) => f.check.startsWith('containerd runtime '));
    t.same(ours.map((f) => f.check).sort(), ['containerd runtime grpc', 'containerd runtime switchyard'], 'every io.containerd.switchyard.v2 handler found');
    t.ok(ours.every((f) => f.ok && f.detail.includes(`config version ${build.configVersion}`)), 'pod_annotations covered');
    t.match(findings.find((f) => f.check === 'containerd')?.detail, new RegExp(`containerd ${build.version.replace('.', '\\.')}`), 'the containerd on PATH');
    const snippet = await cli(['install', '--print-containerd-config']);
    t.match(snippet.out, build.configVersion === 3 ? /^version = 3$/m : /grpc\.v1\.cri/, 'install prints the form of the containerd it finds');
    // The trap, in this version's form: the switchyard handler without pod_annotations.
    const trapped = path.join(dir, 'trapped.toml');
    fs.writeFileSync(trapped, fs.readFileSync(env.c.configPath, 'utf8').replace(/pod_annotations = \[[^\]]*\]/g, ''));
    const bad = await cli(['doctor', '--containerd-config', trapped]);
    t.equal(bad.code, 1);
    t.match(bad.out, /ERROR containerd runtime switchyard: pod_annotations \[\] does not cover switchyard\.dev\/runtime/);
  });
}

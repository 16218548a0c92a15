/**
 * The `switchyard` CLI against real daemons under a private containerd: ps, state, pids,
 * stats, why/route, trace, exec, logs, kill/wait, doctor, metrics, and the root check.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { requireCommands, requireE2E } from './lib/prereq.js';
import { RUNTIME, switchyardContainerd } from './lib/switchyard.js';
import { importBusybox, repoRoot } from './lib/image.js';
import { waitFor } from './lib/wait.js';
import { tempDir } from '../helpers/tmp.js';
import { spawnOnPty } from './lib/pty.js';

const cli = (args: string[], opts: { input?: string } = {}) =>
  execa(process.execPath, [path.join(repoRoot(), 'bin', 'switchyard.js'), ...args], { reject: false, env: { PATH: process.env.PATH! }, extendEnv: false, timeout: 60_000, ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }) });

if (requireE2E(t) && requireCommands(t, ['setpriv'])) {
  const env = switchyardContainerd(t);
  const ns = () => env.c.namespace;

  t.test('ps, state, pids, stats, why and route agree on a running task', async (t) => {
    await env.c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, 'cl1', 'sleep', '1000']);
    const ps = await cli(['ps', '-n', ns(), '--json']);
    t.equal(ps.exitCode, 0, ps.stderr);
    const row = (JSON.parse(ps.stdout) as { tasks: { id: string; runtime: string; pid: number; status: string }[] }).tasks.find((r) => r.id === 'cl1');
    t.match(row, { runtime: 'runc', status: 'RUNNING' });
    t.ok((row?.pid ?? 0) > 0);
    t.match((await cli(['ps', '-n', ns()])).stdout, /cl1\s+-\s+runc\s+\d+\s+RUNNING/);
    const st = JSON.parse((await cli(['state', 'cl1', '--json'])).stdout);
    t.match(st, { id: 'cl1', status: 'RUNNING', runtime: 'runc', pid: row?.pid });
    t.match((await cli(['pids', 'cl1'])).stdout, new RegExp(`^${row?.pid}\\s+-`, 'm'));
    const stats = JSON.parse((await cli(['stats', 'cl1', '--json'])).stdout);
    t.ok(stats.memoryUsageBytes > 0, 'memory from the cgroup');
    const why = await cli(['why', 'cl1']);
    t.match(why.stdout, /^runtime runc, rule \(implicit \*\)/);
    t.match(why.stdout, /bare task/);
    const dry = await cli(['route', '--annotation', 'x=y', '-n', ns(), '--json']);
    t.equal(JSON.parse(dry.stdout).runtime, 'runc', 'the dry run decides as the router did');
    const refused = await cli(['route', '--annotation', 'switchyard.dev/runtime=nope', '-n', ns()]);
    t.equal(refused.exitCode, 3);
    t.match(refused.stdout, /refused: .*nope/);
  });

  t.test('exec runs a command; logs show the task; kill and wait', async (t) => {
    const ex = await cli(['exec', 'cl1', '--', 'sh', '-c', 'echo from-exec; echo err >&2; exit 3']);
    t.equal(ex.stdout, 'from-exec');
    t.equal(ex.stderr, 'err');
    t.equal(ex.exitCode, 3, 'the command\'s exit code');
    const cat = await cli(['exec', 'cl1', '--', 'cat'], { input: 'piped in\n' });
    t.equal(cat.stdout, 'piped in');
    const logs = await cli(['logs', 'cl1']);
    t.match(logs.stdout, /info\s+created/);
    t.match(logs.stdout, /exec started/);
    const w = cli(['wait', 'cl1']);
    await cli(['kill', 'cl1', '-s', 'KILL']);
    const done = await w;
    t.equal(done.stdout, '137');
    await env.c.ctr(['task', 'delete', 'cl1']);
    await env.c.ctr(['container', 'delete', 'cl1']);
  });

  t.test('exec -t: a shell on a terminal, sized as the operator\'s', async (t) => {
    await env.c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, 'clt', 'sleep', '1000']);
    const p = spawnOnPty({ file: process.execPath, args: [path.join(repoRoot(), 'bin', 'switchyard.js'), 'exec', '-t', 'clt', '--', 'sh'], env: { PATH: process.env.PATH! } }, { rows: 21, cols: 77 });
    t.teardown(() => p.close());
    await p.waitFor(/\/ # /);
    p.write('stty size; echo ok-$((6*7))\r');
    await p.waitFor(/21 77/);
    await p.waitFor(/ok-42/);
    p.write('exit 6\r');
    t.equal(await p.exited, 6);
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'clt']);
    await waitFor(async () => /clt\s+\d+\s+STOPPED/.test((await env.c.ctr(['task', 'ls'])).stdout));
    await env.c.ctr(['task', 'delete', 'clt']);
    await env.c.ctr(['container', 'delete', 'clt']);
  });

  t.test('trace shows the RPCs of a ctr run as they happen', async (t) => {
    await env.c.ctr(['run', '--rm', '--runtime', RUNTIME, env.ref, 'warm', 'true']);
    const tr = cli(['trace', '-n', ns(), '--json', '--for', '8']);
    await new Promise((r) => setTimeout(r, 1500));
    await env.c.ctr(['run', '--rm', '--runtime', RUNTIME, env.ref, 'traced', 'echo', 'x']);
    const out = await tr;
    const calls = out.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((c) => c.task === 'traced');
    const methods = calls.map((c) => c.method);
    for (const m of ['Create', 'Start', 'Wait', 'Delete']) t.ok(methods.includes(m), `${m} traced`);
    t.ok(calls.every((c) => c.code === 'OK' && typeof c.durationMs === 'number'), 'with codes and durations');
  });

  t.test('doctor: a containerd config whose pod_annotations misses the key is an error with the fix', async (t) => {
    const dir = tempDir(t);
    const bad = path.join(dir, 'containerd.toml');
    fs.writeFileSync(bad, 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.switchyard]\n  runtime_type = "io.containerd.switchyard.v2"\n');
    const r = await cli(['doctor', '--containerd-config', bad]);
    t.equal(r.exitCode, 1);
    t.match(r.stdout, /ERROR containerd runtime switchyard: pod_annotations \[\] does not cover switchyard\.dev\/runtime/);
    t.match(r.stdout, /fix: set pod_annotations = \["switchyard\.dev\/runtime"\]/);
    t.match(r.stdout, /ok\s+runtime runc: /);
    const good = path.join(dir, 'good.toml');
    fs.writeFileSync(good, (await cli(['install', '--print-containerd-config'])).stdout);
    const g = await cli(['doctor', '--containerd-config', good, '--json']);
    t.equal(JSON.parse(g.stdout).findings.find((f: { check: string }) => f.check === 'containerd runtime switchyard')?.ok, true, 'the printed snippet passes');
    const cc = await cli(['config', 'check', path.join(repoRoot(), 'docs', 'config.example.toml')]);
    t.equal(cc.exitCode, 0, cc.stderr);
    fs.writeFileSync(path.join(dir, 'bad.toml'), 'grouping = "nope"\n');
    const bc = await cli(['config', 'check', path.join(dir, 'bad.toml')]);
    t.equal(bc.exitCode, 2);
    t.match(bc.stderr, /bad\.toml:1: grouping: /);
  });

  t.test('the metrics endpoint counts a ctr run', async (t) => {
    const dir = tempDir(t);
    const sock = path.join(dir, 'metrics.sock');
    const config = path.join(dir, 'config.toml');
    fs.writeFileSync(config, `metrics_address = "unix://${sock}"\n`);
    const mns = env.c.newNamespace('met');
    await importBusybox(env.c, mns);
    const r = await env.c.ctr(['run', '--rm', '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, 'counted', 'echo', 'x'], { namespace: mns });
    t.equal(r.stdout, 'x');
    const get = () =>
      new Promise<string>((resolve, reject) =>
        http.get({ socketPath: sock, path: '/metrics' }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        }).on('error', reject),
      );
    let text = '';
    t.ok(await waitFor(async () => /method="Delete"/.test((text = await get().catch(() => ''))), 5000), 'served');
    t.match(text, /switchyard_rpc_total\{method="Create",code="OK"\} 1/);
    t.match(text, /switchyard_rpc_total\{method="Start",code="OK"\} 1/);
    t.match(text, /switchyard_routing_decisions_total\{runtime="runc",rule="\(implicit \*\)"\} 1/);
    t.match(text, /switchyard_rpc_duration_seconds_count\{method="Create"\} 1/);
  });

  t.test('unprivileged: refused with what to do; help still works', async (t) => {
    const r = await execa('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, path.join(repoRoot(), 'bin', 'switchyard.js'), 'ps'], { reject: false });
    t.equal(r.exitCode, 1);
    t.match(r.stderr, /needs root.*sudo/);
    const h = await execa('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, path.join(repoRoot(), 'bin', 'switchyard.js'), 'ps', '--help'], { reject: false });
    t.equal(h.exitCode, 0);
    t.match(h.stdout, /Usage: switchyard ps/);
  });
}

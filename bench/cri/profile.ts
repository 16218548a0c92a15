/**
 * Where a Switchyard pod start goes on containerd 2.1.9 (`node dist/bench/cri/profile.js`,
 * root). Not part of `make bench`: a tool for finding what to make faster; its findings are
 * written up in docs/bench/pod-start-profile.md.
 *
 * One CRI containerd (the bench's harness) with the handler `switchyard-prof`: its own
 * config, idle_timeout 10s, so its daemon exits by itself at the end. Node 20 refuses
 * --cpu-prof in NODE_OPTIONS, so containerd runs with NODE_OPTIONS=--require of a small
 * hook that starts V8's sampling profiler through node:inspector and writes the profile
 * on exit: every Node process containerd starts — each `start`, the daemon (start hands
 * it its environment) — leaves `<action>.<pid>.cpuprofile`. The hook costs each process a
 * few ms, so the wall times printed here are with profiling on; `make bench` has the
 * clean ones. PROFILE_PODS pods (default 10) are started on
 * runc-v2 and on Switchyard, interleaved, and it prints:
 *   - CRI wall times per step, both sides;
 *   - the daemon's own time per RPC (its Debug service's call log), per pod start;
 *   - how many times containerd ran our binary, and each run's profiled lifetime;
 *   - the functions with the most self time in the daemon and in `start` (profiles);
 *   - with PROFILE_STRACE=1, `strace -c` of the daemon over a second set of pod starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startCriContainerd, environOf, RUNC_HANDLER, switchyardHandler } from '../../test/e2e/lib/cri-env.js';
import { findProcessesReferencing } from '../../test/e2e/lib/cleanup.js';
import { TtrpcClient } from '../../src/transport/ttrpc/client.js';
import { debugService } from '../../src/api/debug.js';
import { daemonCards } from '../../src/cli/trace.js';
import { shimDaemons } from '../lib/procs.js';
import { envInt, mean, pct, sleep } from '../lib/stats.js';
import { Pods, type PodStart } from './pods.js';
import type { CriSide } from './sides.js';

const N = envInt('PROFILE_PODS', 10);
const HANDLER = 'switchyard-prof';
const out = (s: string) => process.stdout.write(s + '\n');
const p50 = (xs: number[]) => pct(xs, 50).toFixed(1);

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time by function (ms) over a set of profiles, most first. */
function selfTimes(files: string[]): { name: string; ms: number }[] {
  const acc = new Map<string, number>();
  for (const f of files) {
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    p.samples.forEach((id, i) => {
      const cf = byId.get(id)?.callFrame;
      const name = cf ? `${cf.functionName || '(anonymous)'} ${path.basename(cf.url)}:${cf.lineNumber + 1}` : '?';
      acc.set(name, (acc.get(name) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return [...acc].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
}

const profDir = fs.mkdtempSync('/tmp/switchyard-prof-');
const hook = path.join(profDir, 'hook.cjs');
fs.writeFileSync(
  hook,
  [
    "const inspector = require('node:inspector');",
    "const fs = require('node:fs');",
    'const s = new inspector.Session();',
    's.connect();',
    "s.post('Profiler.enable');",
    "s.post('Profiler.setSamplingInterval', { interval: 200 });",
    "s.post('Profiler.start');",
    "const action = process.argv[process.argv.length - 1].replace(/[^A-Za-z0-9-]/g, '');",
    // In-process inspector sessions answer synchronously, so this runs to the end on exit.
    "process.on('exit', () => s.post('Profiler.stop', (err, r) => {",
    `  if (!err) fs.writeFileSync(${JSON.stringify(profDir)} + '/' + action + '.' + process.pid + '.cpuprofile', JSON.stringify(r.profile));`,
    '}));',
    '',
  ].join('\n'),
);
const env = await startCriContainerd({
  containerd: { version: '2.1', env: { NODE_OPTIONS: `--require ${hook}` } },
  handlers: { [HANDLER]: switchyardHandler({ switchyardConfig: { idle_timeout: '10s' } }) },
});
try {
  const pods = new Pods(env);
  const sy: CriSide = { name: 'switchyard', handler: HANDLER, shim: 'switchyard' };
  const rc: CriSide = { name: 'runc-v2', handler: RUNC_HANDLER, shim: 'runc-v2' };
  const config = path.join(path.dirname(env.switchyardConfigPath), `handler-${HANDLER}.toml`);
  const daemon = () => shimDaemons(findProcessesReferencing(env.c.address).map((p) => p.pid), 'switchyard').find((p) => environOf(p).SWITCHYARD_CONFIG === config);
  const socket = () => daemonCards(env.switchyardStateDir).find((d) => d.alive && d.address === env.c.address)?.socket;

  for (const s of [rc, sy]) await pods.remove((await pods.start(s, 'warm')).pod);
  const starts: Record<string, PodStart[]> = { switchyard: [], 'runc-v2': [] };
  const client = await TtrpcClient.connect(socket()!);
  let last = (await client.service(debugService).Calls({ after: 0, max: 0 })).last ?? 0;
  const rpc = new Map<string, number[]>();
  const teardownRpc = new Map<string, number[]>();
  const inPod: number[] = [];
  /** The daemon's calls since the last read, by method (the pod's own task marked). */
  const calls = async (pod: string, into: Map<string, number[]>) => {
    const r = await client.service(debugService).Calls({ after: last, max: 0 });
    last = r.last ?? last;
    let sum = 0;
    for (const c of r.calls ?? []) {
      const k = `${c.method}${c.taskId === pod ? ' (sandbox)' : ''}`;
      into.set(k, [...(into.get(k) ?? []), c.durationMs ?? 0]);
      sum += c.durationMs ?? 0;
    }
    return sum;
  };
  for (let i = 0; i < N; i++) {
    for (const s of i % 2 ? [sy, rc] : [rc, sy]) {
      const p = await pods.start(s, 'prof');
      starts[s.name]!.push(p);
      if (s === sy) inPod.push(await calls(p.pod, rpc));
      await pods.remove(p.pod);
      if (s === sy) await calls(p.pod, teardownRpc);
    }
  }
  client.close();

  out(`pod start through CRI, ms, p50 of ${N} (containerd ${(await env.c.ctr(['version'])).stdout.match(/Server:[\s\S]*?Version:\s*(\S+)/)?.[1]})`);
  for (const s of [rc, sy]) {
    const xs = starts[s.name]!;
    out(`  ${s.name.padEnd(12)} total ${p50(xs.map((p) => p.totalMs))}  RunPodSandbox ${p50(xs.map((p) => p.sandboxMs))}  container to RUNNING ${p50(xs.map((p) => p.containerMs))}`);
  }
  const table = (label: string, m: Map<string, number[]>) => {
    out(`\nthe daemon's time per RPC ${label}, ms (p50, calls per pod):`);
    for (const [k, xs] of [...m].sort((a, b) => mean(b[1]) - mean(a[1]))) out(`  ${k.padEnd(28)} ${p50(xs).padStart(7)}  ×${(xs.length / N).toFixed(1)}`);
  };
  table('while a Switchyard pod starts', rpc);
  out(`  sum per pod start: p50 ${p50(inPod)}`);
  table('while it is torn down', teardownRpc);

  // strace -c of the daemon (syscall counts and time) over another set of pod starts.
  if (envInt('PROFILE_STRACE', 0)) {
    const pid = daemon();
    if (pid) {
      const file = path.join(profDir, 'strace.txt');
      const st = spawn('strace', ['-c', '-f', '-o', file, '-p', String(pid)], { stdio: 'ignore' });
      await sleep(500);
      for (let i = 0; i < N; i++) await pods.remove((await pods.start(sy, 'strace')).pod);
      st.kill('SIGINT');
      await new Promise((r) => st.once('exit', r));
      out(`\nstrace -c -f of the daemon (and the runtimes it spawns) over ${N} pod starts and teardowns:\n${fs.readFileSync(file, 'utf8').split('\n').slice(0, 22).join('\n')}`);
      // Which programs the daemon runs per pod: every successful execve, by program and verb.
      const ex = path.join(profDir, 'execve.txt');
      const st2 = spawn('strace', ['-f', '-tt', '-s', '200', '-e', 'trace=execve,exit_group', '-o', ex, '-p', String(pid)], { stdio: 'ignore' });
      await sleep(500);
      for (let i = 0; i < N; i++) await pods.remove((await pods.start(sy, 'execve')).pod);
      st2.kill('SIGINT');
      await new Promise((r) => st2.once('exit', r));
      // `PID HH:MM:SS.micro execve("/usr/sbin/runc", ["runc", …, "create", …], …) = 0` and
      // `PID HH:MM:SS.micro +++ exited with 0 +++`: each program's run, exec to exit.
      const verbs = new Map<string, number[]>();
      const running = new Map<string, { k: string; t: number }>();
      const pending = new Map<string, { k: string; t: number }>();
      const secs = (hms: string) => hms.split(':').reduce((a, x) => a * 60 + Number(x), 0);
      for (const line of fs.readFileSync(ex, 'utf8').split('\n')) {
        const head = /^(\d+)\s+(\d\d:\d\d:[\d.]+) (.*)$/.exec(line);
        if (!head) continue;
        const [, pid, t, rest] = head;
        // With -f, a call another thread interrupts is split: `execve(… <unfinished ...>`,
        // later `<... execve resumed>) = 0`.
        const m = /^execve\("([^"]+)", \[([^\]]*)\]/.exec(rest!);
        if (m) {
          const args = [...m[2]!.matchAll(/"([^"]*)"/g)].map((a) => a[1]!);
          const verb = args.find((a) => /^(create|start|kill|delete|state|exec|ps|events|update|pause|resume|features|init)$/.test(a)) ?? '';
          pending.set(pid!, { k: `${path.basename(m[1]!)} ${verb}`.trim(), t: secs(t!) });
        }
        if (m || rest!.startsWith('<... execve resumed>')) {
          if (/ = 0$/.test(rest!) && pending.has(pid!)) running.set(pid!, pending.get(pid!)!);
          if (/ = -?\d/.test(rest!) || / = -1 /.test(rest!)) pending.delete(pid!);
        } else if (rest!.startsWith('+++ exited')) {
          const r = running.get(pid!);
          if (r) verbs.set(r.k, [...(verbs.get(r.k) ?? []), (secs(t!) - r.t) * 1000]);
          running.delete(pid!);
        }
      }
      out(`\nprograms the daemon ran per pod start + teardown (exec to exit, under strace, so slower than bare):`);
      for (const [k, xs] of [...verbs].sort((a, b) => b[1].length - a[1].length)) out(`  ${k.padEnd(24)} ×${(xs.length / N).toFixed(1)}  p50 ${p50(xs).padStart(6)} ms`);
    }
  }

  // The daemon exits after idle_timeout and writes its profile.
  const pid = daemon();
  for (let i = 0; i < 400 && pid && fs.existsSync(`/proc/${pid}`); i++) await sleep(50);
  const profiles = fs.readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profDir, f));
  const byPid = (p: number) => profiles.filter((f) => f.includes(`.${p}.`));
  const daemonFiles = profiles.filter((f) => path.basename(f).startsWith('serve.'));
  const others = profiles.filter((f) => !daemonFiles.includes(f));
  if (pid && !byPid(pid).length) out(`(the daemon ${pid} left no profile: it did not exit by itself)`);
  const lifetimes = others.map((f) => {
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile;
    return (p.endTime - p.startTime) / 1000;
  });
  const actions = others.map((f) => path.basename(f).split('.')[0]).reduce((m, a) => m.set(a!, (m.get(a!) ?? 0) + 1), new Map<string, number>());
  out(`\nNode processes containerd ran: ${[...actions].map(([a, n]) => `${a} ×${n}`).join(', ')}: ${others.length} for ${N + 1 + (envInt('PROFILE_STRACE', 0) ? 2 * N : 0)} Switchyard pods (warm-up and strace phases included); profiled lifetime p50 ${p50(lifetimes)} ms`);
  const top = (files: string[], label: string) => {
    const t = selfTimes(files);
    const total = t.reduce((a, x) => a + x.ms, 0);
    out(`\n${label}: ${total.toFixed(0)} ms sampled; top self time:`);
    for (const x of t.slice(0, 15)) out(`  ${x.ms.toFixed(1).padStart(8)} ms  ${((100 * x.ms) / total).toFixed(1).padStart(5)}%  ${x.name}`);
  };
  if (daemonFiles.length) top(daemonFiles, 'daemon');
  if (others.length) top(others, 'start/delete runs');
  out(`\nprofiles kept in ${profDir}`);
} finally {
  await env.stop();
}

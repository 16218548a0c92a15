/**
 * Switchyard (`io.containerd.switchyard.v2`) against `io.containerd.runc.v2` on ONE private
 * containerd, both on runc, in interleaved rounds (ABBA) so machine noise hits both alike:
 *
 *   lifecycle   Tasks.Create / Start / Wait / Delete over containerd's gRPC API, per step
 *   run --rm    `ctr run --rm IMG ID true`
 *   steady      1 and 10 `sleep` containers per runtime: memory, `ctr task exec` latency,
 *               and the shim binary's `start` / `delete` invoked as containerd invokes them
 *   burst       N `ctr run -d` at concurrency C: time to all running, rate, teardown, memory
 *
 * CPU: containerd runs in a cgroup of its own (lib/cgroup.ts); see METHODS below.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startContainerd } from '../test/e2e/lib/containerd.js';
import { selectedContainerdVersion, type ContainerdVersion } from '../test/e2e/lib/containerd-version.js';
import { importBusybox, repoRoot } from '../test/e2e/lib/image.js';
import { RUNC_ROOT, shimPathOptions } from '../test/e2e/lib/switchyard.js';
import { loadConfig } from '../src/config/config.js';
import { daemonPaths } from '../src/shim/paths.js';
import { BenchCgroup, statCpuNs, threadsCpuNs } from './lib/cgroup.js';
import { atExit } from './lib/exit.js';
import { shimDaemons, shimKind, totalMem, type ShimKind } from './lib/procs.js';
import { envInt, msSince, order, pct, pool, sleep, mean } from './lib/stats.js';
import { TasksClient } from './lib/tasks-client.js';
import { processesWhere } from '../src/sys/proc.js';

export type Side = ShimKind;
export const SIDES: readonly Side[] = ['switchyard', 'runc-v2'];
const RUNTIME: Record<Side, string> = { switchyard: 'io.containerd.switchyard.v2', 'runc-v2': 'io.containerd.runc.v2' };

export const METHODS = {
  cpu:
    'containerd is moved into a cgroup of its own (cgroup v1 cpuacct here) before it spawns any shim; every shim ' +
    'process, `start`/`delete` invocation and runc call inherits it and stays charged after it exits, while container ' +
    "processes leave it for /<ns>/<id>. CPU of shims+runc = Δcpuacct.usage − Δcontainerd (sum of its threads' " +
    "schedstat, ns). Switchyard = its daemon's Δ (threads' schedstat) over the whole phase, whichever runtime ran, " +
    '+ everything else charged while its own runs ran; runc-v2 = everything else charged while its runs ran. ' +
    'Divided by containers. ctr and the benchmark itself are outside the cgroup.',
  memory:
    "Sum of Rss and Pss from /proc/<pid>/smaps of the shim processes in containerd's cgroup: Switchyard's " +
    "resident daemon(s) (`… serve`), runc-v2's one shim per container; 1.5 s after the last container started, mean " +
    'of 3 samples 0.5 s apart. Switchyard: the warm daemon, after all earlier phases (its heap as it is in service). ' +
    '"executable shared only among the shims": PSS with the pages of the shims\' own executable split among the shims ' +
    'alone (/proc/<pid>/smaps); otherwise Node\'s ~40 MiB of text is shared with this benchmark\'s own Node process.',
  api:
    "lifecycle steps are containerd gRPC calls from one long-lived client (no ctr start-up), null IO; the container " +
    'record and snapshot are made/removed with `ctr c create`/`ctr c rm` around them (same for both). run --rm and ' +
    'exec use ctr with FIFOs; burst uses `ctr run -d --null-io`. ctr start-up (~the same for both) is included there.',
  shim:
    'the shim binary is spawned exactly as containerd 1.6 spawns it (argv, cwd = a bundle, its environment, empty ' +
    'stdin), timed to exit and EOF on its output, with one task of each runtime running: Switchyard `start` finds its ' +
    "warm daemon and prints the address; runc-v2 `start` spawns a shim daemon (killed after); `delete` finds no " +
    'container and runs `runc delete --force` once on both.',
};

export interface BenchConfig {
  runs: number;
  runRmRuns: number;
  execRuns: number;
  shimRuns: number;
  burst: number;
  burstConcurrency: number;
  burstRounds: number;
  /** Which containerd (BENCH_CTR_CONTAINERD, default 1.6: its client runs our binary twice per task). */
  containerd: ContainerdVersion;
}

export function configFromEnv(): BenchConfig {
  const runs = envInt('BENCH_RUNS', 60);
  return {
    runs,
    runRmRuns: envInt('BENCH_RUN_RM_RUNS', runs),
    execRuns: envInt('BENCH_EXEC_RUNS', runs),
    shimRuns: envInt('BENCH_SHIM_RUNS', runs),
    burst: envInt('BENCH_BURST', 50),
    burstConcurrency: envInt('BENCH_BURST_CONCURRENCY', 10),
    burstRounds: envInt('BENCH_BURST_ROUNDS', 4),
    containerd: selectedContainerdVersion({ SWITCHYARD_E2E_CONTAINERD: process.env.BENCH_CTR_CONTAINERD || '1.6' }),
  };
}

// ---------------------------------------------------------------------------------------
// CPU ledger

interface CpuSums {
  containers: number;
  /** charged to the cgroup, minus containerd, minus Switchyard's daemon */
  otherNs: number;
  containerdNs: number;
  /** Switchyard's daemon while this side's runs ran */
  syDaemonNs: number;
}

const emptySums = (): CpuSums => ({ containers: 0, otherNs: 0, containerdNs: 0, syDaemonNs: 0 });

export interface CpuPerContainer {
  /** shims + runc per container, ms */
  totalMs: number;
  /** Switchyard only: its daemon's share */
  daemonMs?: number;
  /** start/delete invocations, runc (and runc-v2's shim daemons) */
  shortLivedMs: number;
  containerdMs: number;
  containers: number;
}

class CpuLedger {
  private readonly phases = new Map<string, Record<Side, CpuSums>>();

  constructor(
    private readonly cg: BenchCgroup,
    private readonly containerdPid: number,
  ) {}

  private daemonCpu(): Map<number, number> {
    return new Map(shimDaemons(this.cg.pids(), 'switchyard').map((p) => [p, threadsCpuNs(p)]));
  }

  /** Run fn as `containers` containers of `side` in `phase`, charging what the cgroup spent. */
  async track<T>(phase: string, side: Side, containers: number, fn: () => Promise<T>): Promise<T> {
    const d0 = this.daemonCpu();
    const c0 = threadsCpuNs(this.containerdPid);
    const u0 = this.cg.usageNs();
    try {
      return await fn();
    } finally {
      const u1 = this.cg.usageNs();
      const c1 = threadsCpuNs(this.containerdPid);
      const d1 = this.daemonCpu();
      let daemon = 0;
      for (const [pid, ns] of d1) daemon += ns - (d0.get(pid) ?? 0); // a new daemon counts from 0
      const rec = this.phases.get(phase) ?? { switchyard: emptySums(), 'runc-v2': emptySums() };
      this.phases.set(phase, rec);
      const s = rec[side];
      s.containers += containers;
      s.containerdNs += c1 - c0;
      s.syDaemonNs += daemon;
      s.otherNs += u1 - u0 - (c1 - c0) - daemon;
    }
  }

  perContainer(phase: string): Record<Side, CpuPerContainer> | undefined {
    const rec = this.phases.get(phase);
    if (!rec) return undefined;
    const sy = rec.switchyard;
    const rc = rec['runc-v2'];
    const ms = (ns: number, n: number) => ns / 1e6 / Math.max(1, n);
    const daemon = sy.syDaemonNs + rc.syDaemonNs;
    return {
      switchyard: {
        totalMs: ms(sy.otherNs + daemon, sy.containers),
        daemonMs: ms(daemon, sy.containers),
        shortLivedMs: ms(sy.otherNs, sy.containers),
        containerdMs: ms(sy.containerdNs, sy.containers),
        containers: sy.containers,
      },
      'runc-v2': {
        totalMs: ms(rc.otherNs, rc.containers),
        shortLivedMs: ms(rc.otherNs, rc.containers),
        containerdMs: ms(rc.containerdNs, rc.containers),
        containers: rc.containers,
      },
    };
  }

  raw(): Record<string, Record<Side, CpuSums>> {
    return Object.fromEntries(this.phases);
  }
}

// ---------------------------------------------------------------------------------------

export interface Dist {
  n: number;
  p50: number;
  p90: number;
  mean: number;
  samples: number[];
}

const dist = (xs: number[]): Dist => ({ n: xs.length, p50: pct(xs, 50), p90: pct(xs, 90), mean: mean(xs), samples: xs.map((x) => Math.round(x * 1000) / 1000) });

export interface MemSample {
  containers: number;
  processes: number;
  rssKiB: number;
  pssKiB: number;
  soloPssKiB: number;
}

export interface BurstRound {
  round: number;
  allRunningMs: number;
  perSecond: number;
  teardownMs: number;
  running: number;
  failures: number;
}

export interface SideResult {
  runtime: string;
  coldFirstLifecycleMs: number;
  lifecycle: Record<'create' | 'start' | 'wait' | 'delete' | 'task' | 'ctrCreate' | 'ctrRm' | 'total', Dist>;
  runRm: Dist;
  exec: Dist;
  shimStart: Dist;
  shimDelete: Dist;
  shimVersion: Dist;
  burst: BurstRound[];
  memory: MemSample[];
  cpu: Record<string, CpuPerContainer>;
  failures: string[];
}

export interface ContainerdBenchResult {
  config: BenchConfig;
  containerd: { version: string; snapshotter: string; cgroup: string; containerdCpuS: { threadsSchedstat: number; procStat: number } };
  nodeStartupMs: Dist;
  sides: Record<Side, SideResult>;
  cpuRaw: Record<string, Record<Side, CpuSums>>;
  daemonPidsSeen: number[];
  otherProcesses: string[];
  methods: typeof METHODS;
  seconds: number;
}

/** Run the child to completion the way containerd runs a shim action: wall ms to exit + EOF. */
function timedSpawn(file: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<{ ms: number; code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    child.stderr.on('data', (d) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: msSince(t0), code, out }));
    child.stdin.end();
  });
}

/** The runc-v2 shim daemon(s) a `start` for task `id` spawned (they write shim.pid late). */
async function runcV2ShimOf(id: string): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const found = processesWhere((argv) => {
      const at = argv.indexOf('-id');
      return !!argv[0]?.endsWith('containerd-shim-runc-v2') && at >= 0 && argv[at + 1] === id && !argv.includes('start');
    });
    if (found.length) return found;
    await sleep(20);
  }
  return [];
}

export async function runContainerdBench(cfg: BenchConfig, log: (s: string) => void): Promise<ContainerdBenchResult> {
  const t0 = Date.now();
  const c = await startContainerd({ ...shimPathOptions(), version: cfg.containerd });
  const ns = c.namespace;
  c.addRuntimeRoot(path.join(RUNC_ROOT, ns));
  const cg = BenchCgroup.create(`switchyard-bench-${process.pid}`);
  const runcV2Sockets = new Set<string>();
  const swCfg = loadConfig(undefined, {});
  const sy = daemonPaths(swCfg, c.address, ns, '/', 'x');
  const dropLeftovers = atExit(() => {
    for (const s of runcV2Sockets) fs.rmSync(s, { force: true });
    fs.rmSync(sy.socket, { force: true });
    fs.rmSync(sy.stateDir, { recursive: true, force: true });
    fs.rmSync(path.join(swCfg.stateDir, 'decisions', ns), { recursive: true, force: true });
    try {
      fs.rmdirSync(path.join(RUNC_ROOT, ns)); // emptied by the harness, which leaves the dir
    } catch {
      // absent, or not empty: leave it
    }
  });
  const api = new TasksClient(c.address, ns);
  const daemonPidsSeen = new Set<number>();
  const otherProcesses = new Set<string>();
  const failures: Record<Side, string[]> = { switchyard: [], 'runc-v2': [] };
  const fail = (side: Side, what: string, err: unknown) => {
    const msg = `${what}: ${(err as Error)?.message ?? err}`.slice(0, 600);
    failures[side].push(msg);
    log(`  ! ${side} ${msg.split('\n')[0]}`);
  };
  try {
    // Before any task: every shim containerd spawns from now on is in the cgroup.
    cg.add(c.pid!);
    const ctdStat0 = statCpuNs(c.pid!);
    const ctdThreads0 = threadsCpuNs(c.pid!);
    const ref = await importBusybox(c);
    const version = (await c.ctr(['version'])).stdout.match(/Server:[\s\S]*?Version:\s*(\S+)/)?.[1] ?? '?';
    const ledger = new CpuLedger(cg, c.pid!);
    let seq = 0;
    const newId = (side: Side, what: string) => `${what}-${side === 'switchyard' ? 'sy' : 'rc'}-${++seq}`;
    const ctr = (args: string[]) => c.ctr(args, { timeoutMs: 120_000 });
    const noteDaemons = () => {
      const pids = cg.pids();
      for (const p of shimDaemons(pids, 'switchyard')) daemonPidsSeen.add(p);
      for (const p of pids) {
        if (p === c.pid || shimKind(p)) continue;
        try {
          otherProcesses.add(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 200));
        } catch {}
      }
    };
    const memory: Record<Side, MemSample[]> = { switchyard: [], 'runc-v2': [] };
    // 1.5 s to settle, then the mean of 3 samples 0.5 s apart (Node's heap breathes with GC).
    const sampleMem = async (sides: readonly Side[], containers: number) => {
      await sleep(1500);
      const acc = new Map<Side, MemSample[]>(sides.map((s) => [s, []]));
      for (let i = 0; i < 3; i++) {
        if (i) await sleep(500);
        noteDaemons();
        for (const side of sides) {
          const m = totalMem(shimDaemons(cg.pids(), side));
          acc.get(side)!.push({ containers, processes: m.processes, rssKiB: m.rssKiB, pssKiB: m.pssKiB, soloPssKiB: m.soloPssKiB });
        }
      }
      for (const [side, xs] of acc) {
        const m: MemSample = {
          containers,
          processes: Math.max(...xs.map((x) => x.processes)),
          rssKiB: Math.round(mean(xs.map((x) => x.rssKiB))),
          pssKiB: Math.round(mean(xs.map((x) => x.pssKiB))),
          soloPssKiB: Math.round(mean(xs.map((x) => x.soloPssKiB))),
        };
        memory[side].push(m);
        log(`  memory ${side} @${containers}: ${m.processes} processes, PSS ${(m.pssKiB / 1024).toFixed(1)} MiB, solo PSS ${(m.soloPssKiB / 1024).toFixed(1)} MiB, RSS ${(m.rssKiB / 1024).toFixed(1)} MiB`);
      }
    };
    // -- lifecycle ------------------------------------------------------------------------
    type Step = keyof SideResult['lifecycle'];
    const life: Record<Side, Record<Step, number[]>> = {
      switchyard: { create: [], start: [], wait: [], delete: [], task: [], ctrCreate: [], ctrRm: [], total: [] },
      'runc-v2': { create: [], start: [], wait: [], delete: [], task: [], ctrCreate: [], ctrRm: [], total: [] },
    };
    const lifecycleOnce = async (side: Side): Promise<Record<Step, number>> => {
      const id = newId(side, 'life');
      const r = {} as Record<Step, number>;
      let t = process.hrtime.bigint();
      const all = t;
      await ctr(['containers', 'create', '--runtime', RUNTIME[side], ref, id, 'true']);
      r.ctrCreate = msSince(t);
      try {
        const rootfs = await api.mounts(c.snapshotter, id);
        t = process.hrtime.bigint();
        const task = t;
        await api.create(id, rootfs);
        r.create = msSince(t);
        t = process.hrtime.bigint();
        await api.start(id);
        r.start = msSince(t);
        t = process.hrtime.bigint();
        const status = await api.wait(id);
        r.wait = msSince(t);
        if (status !== 0) throw new Error(`exit status ${status}`);
        t = process.hrtime.bigint();
        await api.delete(id);
        r.delete = msSince(t);
        r.task = msSince(task);
      } catch (err) {
        await ctr(['tasks', 'delete', '--force', id]).catch(() => {});
        throw err;
      } finally {
        t = process.hrtime.bigint();
        await ctr(['containers', 'delete', id]);
        r.ctrRm = msSince(t);
      }
      r.total = msSince(all);
      return r;
    };
    log(`lifecycle: ${cfg.runs} runs each (gRPC Tasks.Create/Start/Wait/Delete)`);
    const cold = {} as Record<Side, number>;
    for (const side of SIDES) cold[side] = (await lifecycleOnce(side)).task; // Switchyard: spawns its daemon
    for (const side of SIDES) await lifecycleOnce(side); // warm both
    noteDaemons();
    for (let i = 0; i < cfg.runs; i++) {
      for (const side of order(i, SIDES[0]!, SIDES[1]!)) {
        try {
          const r = await ledger.track('lifecycle', side, 1, () => lifecycleOnce(side));
          for (const k of Object.keys(r) as Step[]) life[side][k].push(r[k]);
        } catch (err) {
          fail(side, 'lifecycle', err);
        }
      }
    }

    // -- ctr run --rm ---------------------------------------------------------------------
    log(`ctr run --rm: ${cfg.runRmRuns} runs each`);
    const runRm: Record<Side, number[]> = { switchyard: [], 'runc-v2': [] };
    for (let i = 0; i < cfg.runRmRuns; i++) {
      for (const side of order(i, SIDES[0]!, SIDES[1]!)) {
        const id = newId(side, 'rm');
        try {
          await ledger.track('runRm', side, 1, async () => {
            const t = process.hrtime.bigint();
            await ctr(['run', '--rm', '--runtime', RUNTIME[side], ref, id, 'true']);
            runRm[side].push(msSince(t));
          });
        } catch (err) {
          fail(side, 'ctr run --rm', err);
          await ctr(['tasks', 'delete', '--force', id]).catch(() => {});
          await ctr(['containers', 'delete', id]).catch(() => {});
        }
      }
    }

    // -- steady: 1 and 10 containers, exec, shim binary ------------------------------------
    log(`steady: 1 container each, exec ${cfg.execRuns}, shim start/delete ${cfg.shimRuns}; then 10 each`);
    const sleepers: Record<Side, string[]> = { switchyard: [], 'runc-v2': [] };
    const runSleeper = async (side: Side, what: string) => {
      const id = newId(side, what);
      sleepers[side].push(id);
      await ctr(['run', '-d', '--null-io', '--runtime', RUNTIME[side], ref, id, 'sleep', '1000']);
      return id;
    };
    const teardown = async (side: Side, ids: string[], conc: number) => {
      await pool(ids, conc, async (id) => {
        try {
          await ctr(['tasks', 'delete', '--force', id]);
          await ctr(['containers', 'delete', id]);
        } catch (err) {
          fail(side, `teardown ${id}`, err);
          await ctr(['containers', 'delete', id]).catch(() => {});
        }
      });
    };
    for (const side of SIDES) await runSleeper(side, 'steady');
    await sampleMem(SIDES, 1);

    const exec: Record<Side, number[]> = { switchyard: [], 'runc-v2': [] };
    for (let i = 0; i < cfg.execRuns; i++) {
      for (const side of order(i, SIDES[0]!, SIDES[1]!)) {
        try {
          await ledger.track('exec', side, 1, async () => {
            const t = process.hrtime.bigint();
            await ctr(['tasks', 'exec', '--exec-id', `e${i}`, sleepers[side][0]!, 'true']);
            exec[side].push(msSince(t));
          });
        } catch (err) {
          fail(side, 'exec', err);
        }
      }
    }

    // The shim binary as containerd runs it (cwd = bundle, same argv and environment), with a
    // task running so Switchyard's daemon is warm: start finds it and prints its address;
    // delete finds no container and runs `runc delete --force` once, like runc-v2's.
    const shimEnv = {
      ...c.env,
      GOMAXPROCS: '2',
      TTRPC_ADDRESS: c.ttrpcAddress,
      GRPC_ADDRESS: c.address,
      NAMESPACE: ns,
    };
    const shimBin: Record<Side, string> = {
      switchyard: path.join(repoRoot(), '.cache', 'shim-bin', 'containerd-shim-switchyard-v2'),
      'runc-v2': 'containerd-shim-runc-v2',
    };
    const bundles = path.join(c.dir, 'bench-bundles');
    const runcRoot = path.join(c.dir, 'bench-runc-root');
    fs.mkdirSync(runcRoot, { recursive: true });
    const bundleFor = (side: Side, id: string) => {
      const b = path.join(bundles, id);
      fs.mkdirSync(path.join(b, 'rootfs'), { recursive: true });
      fs.writeFileSync(path.join(b, 'config.json'), '{"ociVersion":"1.0.2","annotations":{}}');
      if (side === 'switchyard') {
        fs.writeFileSync(path.join(b, 'switchyard.json'), JSON.stringify({ id, namespace: ns, runtime: 'runc', binary: 'runc', root: runcRoot }));
      } else {
        fs.writeFileSync(path.join(b, 'runtime'), 'runc');
      }
      return b;
    };
    const shimArgs = (id: string) => ['-namespace', ns, '-address', c.address, '-publish-binary', '/usr/bin/containerd', '-id', id];
    const shimStart: Record<Side, number[]> = { switchyard: [], 'runc-v2': [] };
    const shimDelete: Record<Side, number[]> = { switchyard: [], 'runc-v2': [] };
    const shimVersion: Record<Side, number[]> = { switchyard: [], 'runc-v2': [] };
    const nodeStartup: number[] = [];
    for (let i = 0; i < cfg.shimRuns; i++) {
      for (const side of order(i, SIDES[0]!, SIDES[1]!)) {
        const id = newId(side, 'shim');
        const b = bundleFor(side, id);
        try {
          const s = await timedSpawn(shimBin[side], [...shimArgs(id), 'start'], { cwd: b, env: shimEnv });
          // A plain address, or (runc-v2 of containerd 2.x) the JSON bootstrap naming one.
          const answer = s.out.trim().startsWith('{') ? String((JSON.parse(s.out) as { address?: unknown }).address ?? '') : s.out.trim();
          if (s.code !== 0 || !answer.startsWith('unix://')) throw new Error(`start: exit ${s.code}: ${s.out.trim()}`);
          shimStart[side].push(s.ms);
          if (side === 'runc-v2') {
            // It spawned a shim daemon for the (fake) task: stop it, remove its socket.
            const sock = answer.replace(/^unix:\/\//, '');
            runcV2Sockets.add(sock);
            for (const pid of await runcV2ShimOf(id)) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {}
            }
            fs.rmSync(sock, { force: true });
          }
          const d = await timedSpawn(shimBin[side], [...shimArgs(id), '-bundle', b, 'delete'], { cwd: b, env: shimEnv });
          if (d.code !== 0) throw new Error(`delete: exit ${d.code}: ${d.out.trim()}`);
          shimDelete[side].push(d.ms);
          const v = await timedSpawn(shimBin[side], ['-v'], { cwd: b, env: shimEnv });
          if (v.code === 0) shimVersion[side].push(v.ms);
        } catch (err) {
          fail(side, 'shim binary', err);
        }
        fs.rmSync(b, { recursive: true, force: true });
      }
      const n = await timedSpawn(process.execPath, ['-e', '0'], { cwd: '/', env: shimEnv });
      nodeStartup.push(n.ms);
    }

    for (let i = 1; i < 10; i++) for (const side of order(i, SIDES[0]!, SIDES[1]!)) await runSleeper(side, 'steady');
    await sampleMem(SIDES, 10);
    for (const side of SIDES) await teardown(side, sleepers[side], cfg.burstConcurrency);

    // -- burst ----------------------------------------------------------------------------
    log(`burst: ${cfg.burst} containers at concurrency ${cfg.burstConcurrency}, ${cfg.burstRounds} rounds each`);
    const burst: Record<Side, BurstRound[]> = { switchyard: [], 'runc-v2': [] };
    for (let r = 0; r < cfg.burstRounds; r++) {
      for (const side of order(r, SIDES[0]!, SIDES[1]!)) {
        const ids = Array.from({ length: cfg.burst }, () => newId(side, 'burst'));
        let failed = 0;
        let allRunningMs = 0;
        await ledger.track('burstStart', side, cfg.burst, async () => {
          const t = process.hrtime.bigint();
          await pool(ids, cfg.burstConcurrency, async (id) => {
            try {
              await ctr(['run', '-d', '--null-io', '--runtime', RUNTIME[side], ref, id, 'sleep', '1000']);
            } catch (err) {
              failed++;
              fail(side, `burst run ${id}`, err);
            }
          });
          allRunningMs = msSince(t);
        });
        const ls = await ctr(['tasks', 'ls']);
        const want = new Set(ids);
        const running = ls.stdout
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => want.has(f[0]!) && f[2] === 'RUNNING').length;
        await sampleMem([side], running);
        let teardownMs = 0;
        await ledger.track('burstTeardown', side, cfg.burst, async () => {
          const t = process.hrtime.bigint();
          await teardown(side, ids, cfg.burstConcurrency);
          teardownMs = msSince(t);
        });
        burst[side].push({ round: r, allRunningMs, perSecond: running / (allRunningMs / 1000), teardownMs, running, failures: failed });
        log(`  ${side} round ${r}: ${running}/${cfg.burst} running in ${(allRunningMs / 1000).toFixed(2)} s, torn down in ${(teardownMs / 1000).toFixed(2)} s`);
      }
    }
    noteDaemons();

    const sides = {} as Record<Side, SideResult>;
    for (const side of SIDES) {
      const cpu: Record<string, CpuPerContainer> = {};
      for (const phase of ['lifecycle', 'runRm', 'exec', 'burstStart', 'burstTeardown']) {
        const p = ledger.perContainer(phase);
        if (p) cpu[phase] = p[side];
      }
      sides[side] = {
        runtime: RUNTIME[side],
        coldFirstLifecycleMs: cold[side],
        lifecycle: Object.fromEntries(Object.entries(life[side]).map(([k, v]) => [k, dist(v)])) as SideResult['lifecycle'],
        runRm: dist(runRm[side]),
        exec: dist(exec[side]),
        shimStart: dist(shimStart[side]),
        shimDelete: dist(shimDelete[side]),
        shimVersion: dist(shimVersion[side]),
        burst: burst[side],
        memory: memory[side],
        cpu,
        failures: failures[side],
      };
    }
    // The containerd term of the CPU method, checked over the whole run: threads' schedstat
    // (what is subtracted) against /proc stat (10 ms ticks, but counts exited threads too).
    const ctdStatS = (statCpuNs(c.pid!) - ctdStat0) / 1e9;
    const ctdThreadsS = (threadsCpuNs(c.pid!) - ctdThreads0) / 1e9;
    return {
      config: cfg,
      containerd: { version, snapshotter: c.snapshotter, cgroup: `${cg.kind} ${cg.dir}`, containerdCpuS: { threadsSchedstat: ctdThreadsS, procStat: ctdStatS } },
      nodeStartupMs: dist(nodeStartup),
      sides,
      cpuRaw: ledger.raw(),
      daemonPidsSeen: [...daemonPidsSeen],
      otherProcesses: [...otherProcesses],
      methods: METHODS,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    api.close();
    log('cleaning up: containers, shims, containerd, mounts, cgroups');
    try {
      await c.stop();
    } finally {
      cg.remove();
      dropLeftovers();
    }
  }
}

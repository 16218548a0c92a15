/**
 * The CRI section of `make bench`: pods on a private containerd 2.1.9 through its CRI
 * plugin, driven by our CRI client as kubelet drives them, for every side of sides.ts
 * (runc-v2 of that containerd package, Switchyard, Switchyard routing to real runsc, ...),
 * in interleaved rounds so machine noise hits every side alike:
 *
 *   pod start   RunPodSandbox + one container created and started, to RUNNING
 *   lifecycle   inside a running pod: CreateContainer → StartContainer → exit → RemoveContainer
 *   exec        ExecSync `true` in a running container, p50 and p99
 *   burst       N pods at concurrency C: time to all running, pods/s, teardown
 *   memory      PSS of every shim process with each count of pods (two containers each)
 *   cold        the first pod after Switchyard's daemon idled out (the side's cold twin)
 *
 * Benchmarks, not tests: nothing here asserts on a timing.
 */
import path from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { startCriContainerd, CRI_NAMESPACE, environOf } from '../../test/e2e/lib/cri-env.js';
import { findProcessesReferencing, isAlive } from '../../test/e2e/lib/cleanup.js';
import { gvisorProcesses, runscBinary } from '../../test/e2e/lib/runsc.js';
import { machineBusyMs, shimDaemons, totalMem } from '../lib/procs.js';
import { NO_CPU, statCpu, sumCpu } from '../lib/cgroup.js';
import { envInt, mean, pool, sleep } from '../lib/stats.js';
import { coldHandler, handlersFor, selectSides, type CriSide } from './sides.js';
import { Pods, type PodStart } from './pods.js';
import { dist, rotation, type Dist } from './dist.js';
import { enablePodNetwork } from './cni.js';

export interface CriBenchConfig {
  rounds: number;
  lifecycleRuns: number;
  execRuns: number;
  burst: number;
  burstConcurrency: number;
  burstRounds: number;
  memPods: number[];
  coldRounds: number;
  coldIdle: string;
}

export function criConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CriBenchConfig {
  const rounds = envInt('BENCH_CRI_ROUNDS', 10);
  const pods = (env.BENCH_CRI_PODS ?? '1,10').split(',').map((s) => Number(s.trim()));
  if (pods.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_CRI_PODS=${env.BENCH_CRI_PODS}: want positive integers, comma-separated`);
  return {
    rounds,
    lifecycleRuns: envInt('BENCH_CRI_LIFECYCLE', rounds),
    execRuns: envInt('BENCH_CRI_EXEC', 2 * rounds),
    burst: envInt('BENCH_CRI_BURST', 10),
    burstConcurrency: Math.max(1, envInt('BENCH_CRI_BURST_CONCURRENCY', 5)),
    burstRounds: envInt('BENCH_CRI_BURST_ROUNDS', 1),
    memPods: pods,
    coldRounds: envInt('BENCH_CRI_COLD_ROUNDS', 2),
    coldIdle: '1s',
  };
}

export interface CriBurstRound {
  round: number;
  allRunningMs: number;
  podsPerSecond: number;
  teardownMs: number;
  running: number;
  /** CPU per running pod from the burst's start to all running, ms. */
  cpuPerPod?: CriBurstCpu;
}

export interface CriBurstCpu {
  /** The whole machine, busy. */
  machineMs: number;
  /** containerd and the processes it waited for: every shim binary's `start`, CNI plugins. */
  containerdMs: number;
  /** The shim daemons' own (runc-v2's per-pod shims; Switchyard's daemon). */
  shimMs: number;
  /** The processes the shim daemons waited for: runc or runsc, each call. */
  runtimeMs: number;
}

export interface CriMemSample {
  pods: number;
  containers: number;
  processes: number;
  pssKiB: number;
  rssKiB: number;
  soloPssKiB: number;
  /** gVisor's own processes (runsc-sandbox, gofers) of these pods, for a gVisor side. */
  gvisorPssKiB?: number;
}

export interface CriSideResult {
  name: string;
  handler: string;
  annotations: Record<string, string>;
  podStart: { sandbox: Dist; container: Dist; total: Dist };
  podRemove: Dist;
  lifecycle: Record<'create' | 'start' | 'exit' | 'remove' | 'total', Dist>;
  exec: Dist;
  burst: CriBurstRound[];
  memory: CriMemSample[];
  cold: Dist;
  failures: string[];
}

export interface CriBenchResult {
  config: CriBenchConfig;
  containerd: { version: string; snapshotter: string; configVersion: number };
  sides: CriSideResult[];
  switchyardDaemonPidsSeen: number[];
  methods: typeof CRI_METHODS;
  seconds: number;
}

export const CRI_METHODS = {
  setup:
    'one private containerd 2.1.9 (its own root, state, socket, config version 3) with its CRI plugin, ' +
    'restrict_oom_score_adj = true, sandbox image = a static pause; every side is a RuntimeClass handler of that one ' +
    'containerd: runc-v2 = the package\'s own containerd-shim-runc-v2, switchyard = io.containerd.switchyard.v2 with ' +
    'runc, sy-runsc = the same with runsc (network = "host") for a pod annotated switchyard.dev/runtime=runsc, all three ' +
    'host-network pods (network NODE, no CNI) in podsandbox mode; runc-v2-net and sy-sandbox = pods with a network ' +
    'namespace of their own (CNI ptp + host-local + loopback), sy-sandbox on a `sandboxer = "shim"` handler (no pause ' +
    'container: the daemon holds the namespaces). Calls go through our CRI client (gRPC, one channel), as kubelet.',
  timing:
    'pod start = RunPodSandbox + CreateContainer + StartContainer until ContainerStatus says RUNNING (polled every ' +
    '5 ms); lifecycle = a `true` container in a running pod, created, started, EXITED seen, removed; teardown = ' +
    'StopContainer (no grace), StopPodSandbox, RemoveContainer, RemovePodSandbox. Rounds rotate the sides\' order.',
  memory:
    "Pss and Rss from /proc/<pid>/smaps of every shim process serving this containerd: runc-v2's shim per pod, " +
    "Switchyard's daemon of the side's config; 1.5 s after the last container started, mean of 3 samples 0.5 s apart. " +
    '"executable shared only among the shims": Node\'s text split among the shims alone, not with this benchmark.',
  cold:
    'the cold twin handler <handler>-cold has its own Switchyard config with idle_timeout = 1s, hence its own ' +
    'daemon: each round waits until that daemon has exited, then times one pod start. sy-sandbox has no twin (a ' +
    'sandboxer = "shim" handler with runtime options of its own fails StartContainer on containerd 2.0-2.3.0): it ' +
    'waits for the daemon it shares with switchyard, whose idle_timeout is the default 30 s. runc-v2 has no resident ' +
    'daemon: its row is a pod start at the same point of the run.',
};

export async function runCriBench(cfg: CriBenchConfig, log: (s: string) => void): Promise<CriBenchResult> {
  const t0 = Date.now();
  const sides = selectSides();
  const runsc = runscBinary();
  if (sides.some((s) => s.gvisor) && !runsc) {
    throw new Error('runsc is missing (scripts/install-deps.sh unpacks it into .cache/debian/runsc); or leave sy-runsc out of BENCH_CRI_SIDES');
  }
  const toml = runsc ? ['', '[runtimes.runsc]', `binary = "${runsc}"`, '', '[runtimes.runsc.runsc_config]', 'network = "host"', ''].join('\n') : '';
  log(`CRI: containerd 2.1 with handlers for ${sides.map((s) => s.name).join(', ')}`);
  const env = await startCriContainerd({
    containerd: { version: '2.1' },
    switchyardToml: toml,
    handlers: handlersFor(sides, toml, cfg.coldIdle),
    callTimeoutMs: 120_000,
  });
  const failures = new Map<string, string[]>(sides.map((s) => [s.name, []]));
  const fail = (side: CriSide, what: string, err: unknown) => {
    const msg = `${what}: ${(err as Error)?.message ?? err}`.slice(0, 600);
    failures.get(side.name)!.push(msg);
    log(`  ! ${side.name} ${msg.split('\n')[0]}`);
  };
  const daemonsSeen = new Set<number>();
  try {
    const version = (await env.c.ctr(['version'])).stdout.match(/Server:[\s\S]*?Version:\s*(\S+)/)?.[1] ?? '?';
    if (sides.some((s) => s.namespaces && s.namespaces.network !== 'NODE')) await enablePodNetwork(env);
    const pods = new Pods(env);
    const syDir = path.dirname(env.switchyardConfigPath);
    /** The Switchyard config a handler's daemon runs with (its own, or the main one). */
    const configOf = (handler: string, own: boolean) => (own ? path.join(syDir, `handler-${handler}.toml`) : env.switchyardConfigPath);
    const sideConfig = (s: CriSide) => configOf(s.handler, Boolean(s.runtime?.switchyardConfig || s.runtime?.switchyardToml));
    const shims = (s: CriSide): number[] => {
      const pids = findProcessesReferencing(env.c.address).map((p) => p.pid);
      const mine = shimDaemons(pids, s.shim);
      if (s.shim !== 'switchyard') return mine;
      for (const p of mine) daemonsSeen.add(p);
      return mine.filter((p) => environOf(p).SWITCHYARD_CONFIG === sideConfig(s));
    };
    /** CPU so far of the machine, of containerd, and per shim daemon of side s (to subtract). */
    const burstCpu = (s: CriSide) => ({
      machineMs: machineBusyMs(),
      containerd: env.c.pid ? statCpu(env.c.pid) : NO_CPU,
      shims: new Map(shims(s).map((p) => [p, statCpu(p)])),
    });
    const perPod = (end: ReturnType<typeof burstCpu>, start: ReturnType<typeof burstCpu>, pods: number): CriBurstCpu => {
      // A shim born during the burst counts from zero; one that ended took its CPU with it.
      const shim = sumCpu([...end.shims.values()]);
      const shim0 = sumCpu([...end.shims.keys()].map((p) => start.shims.get(p) ?? NO_CPU));
      const c = (x: ReturnType<typeof burstCpu>) => x.containerd.ownNs + x.containerd.childrenNs;
      const ms = (ns: number) => ns / 1e6 / pods;
      return {
        machineMs: (end.machineMs - start.machineMs) / pods,
        containerdMs: ms(c(end) - c(start)),
        shimMs: ms(shim.ownNs - shim0.ownNs),
        runtimeMs: ms(shim.childrenNs - shim0.childrenNs),
      };
    };
    const gvisorRoot = path.join(env.switchyardStateDir, 'runsc', CRI_NAMESPACE);
    /** How long the shared daemon of the main config lives without a task or pod. */
    const idleMs = loadConfig(env.switchyardConfigPath).idleTimeoutMs;
    const removeAll = async (s: CriSide, ids: string[]) => {
      await pool(ids, cfg.burstConcurrency, async (id) => {
        try {
          await pods.remove(id);
        } catch (err) {
          fail(s, `teardown ${id}`, err);
        }
      });
    };

    // -- warm-up, then pod start ------------------------------------------------------------
    log(`CRI pod start: 1 warm-up + ${cfg.rounds} rounds per side`);
    for (const s of sides) {
      try {
        await pods.remove((await pods.start(s, 'warm')).pod);
      } catch (err) {
        fail(s, 'warm-up pod', err);
      }
    }
    const starts = new Map<string, PodStart[]>(sides.map((s) => [s.name, []]));
    const removes = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    for (let i = 0; i < cfg.rounds; i++) {
      for (const s of rotation(i, sides)) {
        try {
          const p = await pods.start(s, 'start');
          starts.get(s.name)!.push(p);
          removes.get(s.name)!.push(await pods.remove(p.pod));
        } catch (err) {
          fail(s, 'pod start', err);
        }
      }
    }

    // -- lifecycle and ExecSync in one running pod per side ----------------------------------
    log(`CRI lifecycle ${cfg.lifecycleRuns} and ExecSync ${cfg.execRuns} per side, in a running pod`);
    const steady = new Map<string, PodStart>();
    for (const s of sides) {
      try {
        steady.set(s.name, await pods.start(s, 'steady'));
      } catch (err) {
        fail(s, 'steady pod', err);
      }
    }
    type Step = keyof CriSideResult['lifecycle'];
    const life = new Map<string, Record<Step, number[]>>(sides.map((s) => [s.name, { create: [], start: [], exit: [], remove: [], total: [] }]));
    for (let i = 0; i < cfg.lifecycleRuns; i++) {
      for (const s of rotation(i, sides)) {
        const p = steady.get(s.name);
        if (!p) continue;
        try {
          const r = await pods.lifecycle(p.pod, i);
          for (const k of Object.keys(r) as Step[]) life.get(s.name)![k].push(r[k]);
        } catch (err) {
          fail(s, 'lifecycle', err);
        }
      }
    }
    const execs = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    for (let i = 0; i < cfg.execRuns; i++) {
      for (const s of rotation(i, sides)) {
        const p = steady.get(s.name);
        if (!p) continue;
        try {
          const t = process.hrtime.bigint();
          const r = await env.cri.execSync(p.containers[0]!, ['true'], 30);
          const ms = Number(process.hrtime.bigint() - t) / 1e6;
          if (r.exit_code !== 0) throw new Error(`exit ${r.exit_code}: ${r.stderr.toString()}`);
          execs.get(s.name)!.push(ms);
        } catch (err) {
          fail(s, 'ExecSync', err);
        }
      }
    }
    for (const s of sides) {
      const p = steady.get(s.name);
      if (p) await removeAll(s, [p.pod]);
    }

    // -- burst ------------------------------------------------------------------------------
    log(`CRI burst: ${cfg.burst} pods at concurrency ${cfg.burstConcurrency}, ${cfg.burstRounds} round(s) per side`);
    const bursts = new Map<string, CriBurstRound[]>(sides.map((s) => [s.name, []]));
    for (let r = 0; r < cfg.burstRounds; r++) {
      for (const s of rotation(r, sides)) {
        const ids: string[] = [];
        const cpu0 = burstCpu(s);
        const t = process.hrtime.bigint();
        await pool(Array.from({ length: cfg.burst }), cfg.burstConcurrency, async () => {
          try {
            ids.push((await pods.start(s, 'burst')).pod);
          } catch (err) {
            fail(s, 'burst pod', err);
          }
        });
        const allRunningMs = Number(process.hrtime.bigint() - t) / 1e6;
        const cpuPerPod = ids.length ? perPod(burstCpu(s), cpu0, ids.length) : undefined;
        const t2 = process.hrtime.bigint();
        await removeAll(s, ids);
        const teardownMs = Number(process.hrtime.bigint() - t2) / 1e6;
        bursts.get(s.name)!.push({ round: r, allRunningMs, podsPerSecond: ids.length / (allRunningMs / 1000), teardownMs, running: ids.length, ...(cpuPerPod ? { cpuPerPod } : {}) });
        log(`  ${s.name} round ${r}: ${ids.length}/${cfg.burst} pods running in ${(allRunningMs / 1000).toFixed(2)} s, torn down in ${(teardownMs / 1000).toFixed(2)} s`);
      }
    }

    // -- memory -----------------------------------------------------------------------------
    log(`CRI memory: ${cfg.memPods.join(', ')} pods of two containers per side`);
    const memory = new Map<string, CriMemSample[]>(sides.map((s) => [s.name, []]));
    for (const n of cfg.memPods) {
      for (const s of sides) {
        const ids: string[] = [];
        await pool(Array.from({ length: n }), cfg.burstConcurrency, async () => {
          try {
            ids.push((await pods.start(s, 'mem', 2)).pod);
          } catch (err) {
            fail(s, 'memory pod', err);
          }
        });
        await sleep(1500);
        const xs: CriMemSample[] = [];
        for (let i = 0; i < 3; i++) {
          if (i) await sleep(500);
          const m = totalMem(shims(s));
          const g = s.gvisor ? totalMem(gvisorProcesses(gvisorRoot).map((p) => p.pid)).pssKiB : undefined;
          xs.push({ pods: ids.length, containers: 2 * ids.length, processes: m.processes, pssKiB: m.pssKiB, rssKiB: m.rssKiB, soloPssKiB: m.soloPssKiB, gvisorPssKiB: g });
        }
        const avg = (f: (x: CriMemSample) => number) => Math.round(mean(xs.map(f)));
        const m: CriMemSample = {
          pods: ids.length,
          containers: 2 * ids.length,
          processes: Math.max(...xs.map((x) => x.processes)),
          pssKiB: avg((x) => x.pssKiB),
          rssKiB: avg((x) => x.rssKiB),
          soloPssKiB: avg((x) => x.soloPssKiB),
          ...(s.gvisor ? { gvisorPssKiB: avg((x) => x.gvisorPssKiB ?? 0) } : {}),
        };
        memory.get(s.name)!.push(m);
        log(`  ${s.name} @${n} pods: ${m.processes} shim processes, PSS ${(m.pssKiB / 1024).toFixed(1)} MiB, RSS ${(m.rssKiB / 1024).toFixed(1)} MiB`);
        await removeAll(s, ids);
      }
    }

    // -- cold -------------------------------------------------------------------------------
    log(`CRI cold: ${cfg.coldRounds} round(s) per side (Switchyard's cold twin idles out after ${cfg.coldIdle})`);
    const colds = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    for (let r = 0; r < cfg.coldRounds; r++) {
      for (const s of rotation(r, sides)) {
        const twin = coldHandler(s);
        // The daemon that must be gone: the twin's, or the one a sandbox side shares.
        const config = twin ? configOf(twin, true) : s.shim === 'switchyard' ? sideConfig(s) : undefined;
        try {
          if (config) await waitGone(() => shimDaemons(findProcessesReferencing(env.c.address).map((p) => p.pid), 'switchyard').filter((p) => environOf(p).SWITCHYARD_CONFIG === config), twin ? 30_000 : idleMs + 30_000);
          const p = await pods.start(s, 'cold', 1, twin ?? s.handler);
          colds.get(s.name)!.push(p.totalMs);
          await pods.remove(p.pod);
        } catch (err) {
          fail(s, 'cold pod', err);
        }
      }
    }

    return {
      config: cfg,
      containerd: { version, snapshotter: env.c.snapshotter, configVersion: env.c.build.configVersion },
      sides: sides.map((s) => {
        const st = starts.get(s.name)!;
        const l = life.get(s.name)!;
        return {
          name: s.name,
          handler: s.handler,
          annotations: s.annotations ?? {},
          podStart: { sandbox: dist(st.map((p) => p.sandboxMs)), container: dist(st.map((p) => p.containerMs)), total: dist(st.map((p) => p.totalMs)) },
          podRemove: dist(removes.get(s.name)!),
          lifecycle: { create: dist(l.create), start: dist(l.start), exit: dist(l.exit), remove: dist(l.remove), total: dist(l.total) },
          exec: dist(execs.get(s.name)!),
          burst: bursts.get(s.name)!,
          memory: memory.get(s.name)!,
          cold: dist(colds.get(s.name)!),
          failures: failures.get(s.name)!,
        };
      }),
      switchyardDaemonPidsSeen: [...daemonsSeen],
      methods: CRI_METHODS,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    log('CRI: cleaning up (pods, containerd, shims, mounts)');
    await env.stop();
  }
}

/** Wait until `pids()` is empty (the daemon idled out); throws after `timeoutMs`. */
async function waitGone(pids: () => number[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = pids().filter(isAlive);
    if (!left.length) return;
    if (Date.now() > end) throw new Error(`daemon ${left.join(' ')} did not idle out within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

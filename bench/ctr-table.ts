/**
 * The containerd 1.6 table of `make bench` (bare tasks through ctr and containerd's gRPC
 * API, containerd-bench.ts), with the ttrpc round trip: absolute numbers and ours / runc-v2.
 */
import type { BenchConfig, ContainerdBenchResult, Dist, Side } from './containerd-bench.js';
import { mean } from './lib/stats.js';

export type Row = { section: string } | { name: string; ours: number | undefined; go: number | undefined; digits?: number; higherIsBetter?: boolean };

/** Method notes, wrapped at 100 columns under a label. */
export function wrap(label: string, text: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = `  ${label}: `;
  for (const w of words) {
    if (line.length + w.length > 100) {
      lines.push(line.trimEnd());
      line = '    ';
    }
    line += w + ' ';
  }
  lines.push(line.trimEnd());
  return lines.join('\n') + '\n';
}

export function ctrTable(cd: ContainerdBenchResult, cfg: BenchConfig, ttrpc: Record<string, number> | undefined, ): { rows: Row[]; text: string } {
  const rows: Row[] = [];
  const S = cd.sides.switchyard;
  const G = cd.sides['runc-v2'];
  const both = <T>(f: (s: ContainerdBenchResult['sides'][Side]) => T): [T, T] => [f(S), f(G)];
  const add = (name: string, [ours, go]: [number | undefined, number | undefined], digits = 1, higherIsBetter = false) =>
    rows.push({ name, ours, go, digits, higherIsBetter });
  const dist = (label: string, f: (s: ContainerdBenchResult['sides'][Side]) => Dist, p90 = true) => {
    add(`${label} p50`, both((s) => f(s).p50));
    if (p90) add(`${label} p90`, both((s) => f(s).p90));
  };

  rows.push({ section: `lifecycle through containerd's gRPC API, ms (${S.lifecycle.task.n} / ${G.lifecycle.task.n} runs)` });
  dist('Tasks.Create', (s) => s.lifecycle.create);
  dist('Tasks.Start', (s) => s.lifecycle.start);
  dist('Tasks.Wait (`true` exits)', (s) => s.lifecycle.wait);
  dist('Tasks.Delete', (s) => s.lifecycle.delete);
  dist('task create→delete', (s) => s.lifecycle.task);
  add('  ctr c create p50 (no shim; context)', both((s) => s.lifecycle.ctrCreate.p50));
  add('  ctr c rm p50 (no shim; context)', both((s) => s.lifecycle.ctrRm.p50));
  add('  first task create→delete (cold), n=1', both((s) => s.coldFirstLifecycleMs));
  add('CPU ms/container: shims+runc', both((s) => s.cpu.lifecycle?.totalMs), 2);
  add('  of which Switchyard daemon', [S.cpu.lifecycle?.daemonMs, undefined], 2);
  add('  of which start/delete/runc (+runc-v2 shim)', both((s) => s.cpu.lifecycle?.shortLivedMs), 2);
  add('  containerd itself (context)', both((s) => s.cpu.lifecycle?.containerdMs), 2);

  rows.push({ section: `ctr run --rm IMG ID true, ms (${S.runRm.n} / ${G.runRm.n} runs)` });
  dist('ctr run --rm', (s) => s.runRm);
  add('CPU ms/container: shims+runc', both((s) => s.cpu.runRm?.totalMs), 2);
  add('  of which Switchyard daemon', [S.cpu.runRm?.daemonMs, undefined], 2);

  const br = (s: ContainerdBenchResult['sides'][Side], f: (r: ContainerdBenchResult['sides'][Side]['burst'][number]) => number) => mean(s.burst.map(f));
  rows.push({ section: `burst: ${cfg.burst} × ctr run -d at concurrency ${cfg.burstConcurrency} (mean of ${cfg.burstRounds} rounds)` });
  add('time to all running, s', both((s) => br(s, (r) => r.allRunningMs / 1000)), 2);
  add('rate, containers/s (higher is better)', both((s) => br(s, (r) => r.perSecond)), 1, true);
  add('teardown (ctr t rm -f; ctr c rm), s', both((s) => br(s, (r) => r.teardownMs / 1000)), 2);
  add('CPU ms/container to start: shims+runc', both((s) => s.cpu.burstStart?.totalMs), 2);
  add('  of which Switchyard daemon', [S.cpu.burstStart?.daemonMs, undefined], 2);
  add('CPU ms/container to tear down: shims+runc', both((s) => s.cpu.burstTeardown?.totalMs), 2);
  add('  of which Switchyard daemon', [S.cpu.burstTeardown?.daemonMs, undefined], 2);

  rows.push({ section: 'memory of the shim processes, MiB (smaps)' });
  const mem = (s: ContainerdBenchResult['sides'][Side], n: number, k: 'pssKiB' | 'rssKiB' | 'soloPssKiB') => {
    const xs = s.memory.filter((m) => m.containers === n).map((m) => m[k] / 1024);
    return xs.length ? mean(xs) : undefined;
  };
  for (const n of [1, 10, cfg.burst]) {
    add(`PSS, ${n} container${n > 1 ? 's' : ''}`, both((s) => mem(s, n, 'pssKiB')));
    add(`  PSS, executable shared only among the shims`, both((s) => mem(s, n, 'soloPssKiB')));
    add(`RSS, ${n} container${n > 1 ? 's' : ''}`, both((s) => mem(s, n, 'rssKiB')));
  }

  rows.push({ section: `ctr task exec ID true, ms (${S.exec.n} / ${G.exec.n} runs)` });
  dist('exec', (s) => s.exec);
  add('CPU ms/exec: shims+runc', both((s) => s.cpu.exec?.totalMs), 2);

  rows.push({ section: `shim binary run as containerd runs it, ms (${S.shimStart.n} / ${G.shimStart.n} runs)` });
  dist('`start` (Switchyard: daemon warm)', (s) => s.shimStart);
  dist('`delete` (one runc delete)', (s) => s.shimDelete);
  add('`-v` (process start-up floor) p50', both((s) => s.shimVersion.p50));
  add('`node -e 0` p50 (Node start-up floor)', [cd.nodeStartupMs.p50, undefined]);

  if (ttrpc) {
    rows.push({ section: 'ttrpc Connect, our server vs runc-v2 shim, same client' });
    add('RTT p50, µs', [ttrpc.ours_p50_us, ttrpc.go_p50_us]);
    add('RTT p99, µs', [ttrpc.ours_p99_us, ttrpc.go_p99_us]);
    add('calls/s, 64 in flight (higher is better)', [ttrpc.ours_calls_per_s, ttrpc.go_calls_per_s], 0, true);
  }

  const W = 46;
  const fmt = (v: number | undefined, d: number) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
  let out = `\n${'measure'.padEnd(W)}${'switchyard'.padStart(12)}${'runc-v2'.padStart(12)}${'ratio'.padStart(8)}\n`;
  for (const r of rows) {
    if ('section' in r) {
      out += `\n${r.section}\n`;
      continue;
    }
    const ratio = r.ours !== undefined && r.go !== undefined && r.go !== 0 ? r.ours / r.go : undefined;
    out += `${('  ' + r.name).padEnd(W)}${fmt(r.ours, r.digits ?? 1).padStart(12)}${fmt(r.go, r.digits ?? 1).padStart(12)}${fmt(ratio, 2).padStart(8)}\n`;
  }
  out += `\nratio = switchyard / runc-v2 (below 1 is better for Switchyard, except where higher is better).\n`;
  const failures = [...S.failures.map((f) => `switchyard: ${f}`), ...G.failures.map((f) => `runc-v2: ${f}`)];
  if (failures.length) out += `\nfailures (${failures.length}):\n  ${failures.slice(0, 10).join('\n  ')}\n`;

  out += `\nmethods:\n${wrap('CPU', cd.methods.cpu)}${wrap('memory', cd.methods.memory)}${wrap('API', cd.methods.api)}${wrap('shim binary', cd.methods.shim)}`;
  const ctd = cd.containerd.containerdCpuS;
  out += wrap(
    'check',
    `containerd's CPU over the whole run: ${ctd.threadsSchedstat.toFixed(2)} s from its threads' schedstat (what is subtracted), ` +
      `${ctd.procStat.toFixed(2)} s from /proc/<pid>/stat (10 ms ticks, includes exited threads).`,
  );
  out += `\ncontainerd ${cd.containerd.version}, snapshotter ${cd.containerd.snapshotter}, cgroup ${cd.containerd.cgroup}\n`;
  if (cd.daemonPidsSeen.length > 1) out += `Switchyard daemon pids seen: ${cd.daemonPidsSeen.join(' ')} (it restarted: some rounds paid a cold start)\n`;
  if (cd.otherProcesses.length) out += `other long-lived processes seen in containerd's cgroup: ${cd.otherProcesses.join(' | ')}\n`;
  return { rows, text: out };
}

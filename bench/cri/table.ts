/**
 * The CRI section's table: one value column per side, and after each side but the
 * baseline its ratio to the baseline (side / runc-v2).
 */
import { mean } from '../lib/stats.js';
import { BASELINE } from './sides.js';
import type { CriBenchResult, CriSideResult } from './bench.js';

export type CriRow = { section: string } | { name: string; values: Record<string, number | undefined>; digits: number; higherIsBetter?: boolean };

export function criRows(r: CriBenchResult): CriRow[] {
  const rows: CriRow[] = [];
  const add = (name: string, f: (s: CriSideResult) => number | undefined, digits = 1, higherIsBetter = false) =>
    rows.push({ name, values: Object.fromEntries(r.sides.map((s) => [s.name, f(s)])), digits, higherIsBetter });
  const n = (f: (s: CriSideResult) => number) => r.sides.map(f).join(' / ');
  const c = r.config;

  rows.push({ section: `pod start: RunPodSandbox + 1 container to RUNNING, ms (${n((s) => s.podStart.total.n)} runs)` });
  add('pod start p50', (s) => s.podStart.total.p50);
  add('pod start p90', (s) => s.podStart.total.p90);
  add('  RunPodSandbox p50', (s) => s.podStart.sandbox.p50);
  add('  container create+start to RUNNING p50', (s) => s.podStart.container.p50);
  add('pod teardown (stop, remove) p50', (s) => s.podRemove.p50);

  rows.push({ section: `container lifecycle inside a running pod, ms (${n((s) => s.lifecycle.total.n)} runs)` });
  add('CreateContainer p50', (s) => s.lifecycle.create.p50);
  add('StartContainer p50', (s) => s.lifecycle.start.p50);
  add('exit seen (`true`) p50', (s) => s.lifecycle.exit.p50);
  add('RemoveContainer p50', (s) => s.lifecycle.remove.p50);
  add('create→remove p50', (s) => s.lifecycle.total.p50);
  add('create→remove p90', (s) => s.lifecycle.total.p90);

  rows.push({ section: `burst: ${c.burst} pods at concurrency ${c.burstConcurrency} (mean of ${c.burstRounds} round${c.burstRounds === 1 ? '' : 's'})` });
  const br = (s: CriSideResult, f: (b: CriSideResult['burst'][number]) => number) => (s.burst.length ? mean(s.burst.map(f)) : undefined);
  add('time to all running, s', (s) => br(s, (b) => b.allRunningMs / 1000), 2);
  add('rate, pods/s (higher is better)', (s) => br(s, (b) => b.podsPerSecond), 1, true);
  add('teardown, s', (s) => br(s, (b) => b.teardownMs / 1000), 2);
  const cpu = (f: (c: NonNullable<CriSideResult['burst'][number]['cpuPerPod']>) => number) => (s: CriSideResult) => {
    const xs = s.burst.flatMap((b) => (b.cpuPerPod ? [f(b.cpuPerPod)] : []));
    return xs.length ? mean(xs) : undefined;
  };
  add('CPU per pod to running, ms (the machine)', cpu((c) => c.machineMs), 0);
  add('  containerd, with the shim `start`s it ran', cpu((c) => c.containerdMs), 0);
  add('  shim daemons', cpu((c) => c.shimMs), 0);
  add('  runtimes the shims ran (runc, runsc)', cpu((c) => c.runtimeMs), 0);

  rows.push({ section: 'memory of the shim processes, pods of two containers, MiB (smaps)' });
  const mem = (s: CriSideResult, pods: number, f: (m: CriSideResult['memory'][number]) => number | undefined) => {
    const m = s.memory.find((x) => x.pods === pods);
    const v = m ? f(m) : undefined;
    return v === undefined ? undefined : v / 1024;
  };
  for (const pods of c.memPods) {
    add(`PSS, ${pods} pod${pods > 1 ? 's' : ''}`, (s) => mem(s, pods, (m) => m.pssKiB));
    add('  PSS, executable shared only among the shims', (s) => mem(s, pods, (m) => m.soloPssKiB));
    add(`RSS, ${pods} pod${pods > 1 ? 's' : ''}`, (s) => mem(s, pods, (m) => m.rssKiB));
    add('  shim processes', (s) => s.memory.find((x) => x.pods === pods)?.processes, 0);
    if (r.sides.some((s) => s.memory.some((m) => m.gvisorPssKiB !== undefined))) {
      add('  gVisor sandbox + gofers PSS (context)', (s) => mem(s, pods, (m) => m.gvisorPssKiB));
    }
  }

  rows.push({ section: `ExecSync \`true\`, ms (${n((s) => s.exec.n)} runs)` });
  add('ExecSync p50', (s) => s.exec.p50);
  add('ExecSync p99', (s) => s.exec.p99);

  rows.push({ section: `cold: the first pod after the daemon idled out, ms (${n((s) => s.cold.n)} runs)` });
  add('cold pod start p50', (s) => s.cold.p50);
  add('cold pod start max', (s) => (s.cold.n ? Math.max(...s.cold.samples) : undefined));
  return rows;
}

const fmt = (v: number | undefined, d: number) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

export function renderCriTable(r: CriBenchResult, rows: CriRow[]): string {
  const W = 46;
  const names = r.sides.map((s) => s.name);
  let out = `\n${'measure'.padEnd(W)}`;
  for (const name of names) out += name.padStart(12) + (name === BASELINE ? '' : 'ratio'.padStart(7));
  out += '\n';
  for (const row of rows) {
    if ('section' in row) {
      out += `\n${row.section}\n`;
      continue;
    }
    out += ('  ' + row.name).padEnd(W);
    const base = row.values[BASELINE];
    for (const name of names) {
      const v = row.values[name];
      out += fmt(v, row.digits).padStart(12);
      if (name !== BASELINE) out += fmt(v !== undefined && base ? v / base : undefined, 2).padStart(7);
    }
    out += '\n';
  }
  out += `\nratio = side / ${BASELINE} (below 1 is better for the side, except where higher is better).\n`;
  const failures = r.sides.flatMap((s) => s.failures.map((f) => `${s.name}: ${f}`));
  if (failures.length) out += `\nfailures (${failures.length}):\n  ${failures.slice(0, 10).join('\n  ')}\n`;
  return out;
}

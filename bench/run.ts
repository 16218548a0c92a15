/**
 * make bench: Switchyard side by side with containerd-shim-runc-v2, in two tables, plus
 * the ttrpc round trip (ttrpc-rtt.ts); writes bench/results/<date>.json.
 *
 *   1. pods through CRI on a private containerd 2.1.9 (cri/bench.ts): runc-v2, Switchyard
 *      and Switchyard on runsc, each a RuntimeClass handler (cri/sides.ts);
 *   2. bare tasks through ctr and containerd's gRPC API on a private containerd 1.6
 *      (containerd-bench.ts).
 *
 * Knobs (environment). CRI section, small by default: BENCH_CRI (1; 0 skips it),
 * BENCH_CRI_SIDES (all: runc-v2,switchyard,sy-runsc,runc-v2-net,sy-sandbox),
 * BENCH_CRI_ROUNDS (10: pod starts per side, and the default of BENCH_CRI_LIFECYCLE),
 * BENCH_CRI_EXEC (2 × rounds), BENCH_CRI_BURST (10), BENCH_CRI_BURST_CONCURRENCY (5), BENCH_CRI_BURST_ROUNDS (1),
 * BENCH_CRI_PODS (1,10: pod counts for memory), BENCH_CRI_COLD_ROUNDS (2).
 * containerd 1.6 section: BENCH_CTR (1; 0 skips it), BENCH_CTR_CONTAINERD (1.6),
 * BENCH_RUNS (60: lifecycle runs per runtime, and the default of the next three),
 * BENCH_RUN_RM_RUNS, BENCH_EXEC_RUNS, BENCH_SHIM_RUNS, BENCH_BURST (50),
 * BENCH_BURST_CONCURRENCY (10), BENCH_BURST_ROUNDS (4). BENCH_TTRPC (1; 0 skips it),
 * BENCH_RESULTS_DIR (bench/results).
 * Benchmarks, not tests: nothing here asserts on a timing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runTtrpcBench } from './ttrpc-rtt.js';
import { configFromEnv, runContainerdBench, type ContainerdBenchResult } from './containerd-bench.js';
import { ctrTable, wrap, type Row } from './ctr-table.js';
import { envInt } from './lib/stats.js';
import { criConfigFromEnv, runCriBench, type CriBenchResult } from './cri/bench.js';
import { criRows, renderCriTable, type CriRow } from './cri/table.js';
import { repoRoot } from '../test/e2e/lib/image.js';

if (process.getuid?.() !== 0) {
  process.stderr.write('make bench needs root (it runs a private containerd)\n');
  process.exit(1);
}

const started = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const cfg = configFromEnv();

let cri: CriBenchResult | undefined;
if (envInt('BENCH_CRI', 1) !== 0) cri = await runCriBench(criConfigFromEnv(), log);
const cd: ContainerdBenchResult | undefined = envInt('BENCH_CTR', 1) !== 0 ? await runContainerdBench(cfg, log) : undefined;
let ttrpc: Record<string, number> | undefined;
if (envInt('BENCH_TTRPC', 1) !== 0) {
  log('ttrpc RTT: our server vs containerd-shim-runc-v2, interleaved');
  ttrpc = await runTtrpcBench();
}
const seconds = (Date.now() - started) / 1000;

// ---------------------------------------------------------------------------------------
// tables: containerd 2.1.9 through CRI first (where users run pods), then containerd 1.6

let out = '';
let criTable: CriRow[] | undefined;
if (cri) {
  criTable = criRows(cri);
  out += `\n== pods through CRI, containerd ${cri.containerd.version} (config version ${cri.containerd.configVersion}, snapshotter ${cri.containerd.snapshotter})\n`;
  out += renderCriTable(cri, criTable);
  out += `\nmethods:\n${wrap('setup', cri.methods.setup)}${wrap('timing', cri.methods.timing)}${wrap('memory', cri.methods.memory)}${wrap('cold', cri.methods.cold)}`;
  out += `CRI section: ${cri.seconds.toFixed(0)} s\n`;
}
let rows: Row[] | undefined;
if (cd) {
  const t = ctrTable(cd, cfg, ttrpc);
  rows = t.rows;
  out += `\n== bare tasks through ctr and containerd's gRPC API, containerd ${cd.containerd.version}\n${t.text}`;
} else if (ttrpc) {
  out += `\nttrpc Connect RTT p50 µs: ours ${ttrpc.ours_p50_us?.toFixed(0)}, runc-v2 ${ttrpc.go_p50_us?.toFixed(0)}\n`;
}
out += `total ${seconds.toFixed(0)} s on ${os.cpus().length} CPUs\n`;
process.stdout.write(out);

const resultsDir = process.env.BENCH_RESULTS_DIR || path.join(repoRoot(), 'bench', 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
let runc = '?';
try {
  runc = execFileSync('runc', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '?';
} catch {}
fs.writeFileSync(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      host: os.hostname(),
      cpus: os.cpus().length,
      kernel: os.release(),
      node: process.version,
      runc,
      seconds,
      table: rows,
      containerd: cd,
      cri: cri && { ...cri, table: criTable },
      ttrpc,
    },
    null,
    2,
  ),
);
process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);

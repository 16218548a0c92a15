/**
 * `make bench` keeps working: a tiny run of the real thing completes, prints every section
 * of both tables (pods through CRI on containerd 2.1.9 for every side: runc-v2, Switchyard,
 * Switchyard on runsc, runc-v2 and Switchyard's sandbox API on pods with a
 * network namespace; bare tasks on containerd 1.6) and writes its JSON with a value for
 * every side in every row. Numbers are not checked: benchmarks are not tests.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireCommands, requireE2E } from './lib/prereq.js';
import { repoRoot } from './lib/image.js';
import { tempDir } from '../helpers/tmp.js';
import { requireRunsc } from './lib/runsc.js';

const run = promisify(execFile);

// Five CRI sides (one waits for its daemon to idle out) and the containerd 1.6 table: past
// tap's 180 s per-file default.
t.setTimeout(480_000);

if (requireE2E(t, [], ['1.6', '2.1']) && requireCommands(t, ['containerd-shim-runc-v2']) && requireRunsc(t)) {
  t.test('a small make bench run prints both tables whole and writes its results', { timeout: 420_000 }, async (t) => {
    const results = tempDir(t);
    const { stdout } = await run(process.execPath, [path.join(repoRoot(), 'dist', 'bench', 'run.js')], {
      env: {
        PATH: process.env.PATH,
        BENCH_RUNS: '2',
        BENCH_BURST: '4',
        BENCH_BURST_CONCURRENCY: '2',
        BENCH_BURST_ROUNDS: '1',
        BENCH_CRI_ROUNDS: '1',
        BENCH_CRI_EXEC: '2',
        BENCH_CRI_BURST: '2',
        BENCH_CRI_BURST_CONCURRENCY: '2',
        BENCH_CRI_BURST_ROUNDS: '1',
        BENCH_CRI_PODS: '1,2',
        BENCH_CRI_COLD_ROUNDS: '1',
        BENCH_RESULTS_DIR: results,
      },
      timeout: 400_000,
      maxBuffer: 4 << 20,
    });
    const cri = stdout.indexOf('== pods through CRI, containerd 2.1');
    const ctr = stdout.indexOf('== bare tasks through ctr');
    t.ok(cri >= 0 && ctr > cri, 'the CRI table first, then the containerd 1.6 one');
    t.match(stdout.slice(ctr), /containerd 1\.6/, 'the second table is on containerd 1.6');
    for (const section of ['pod start: RunPodSandbox', 'container lifecycle inside a running pod', 'burst: 2 pods at concurrency 2', 'memory of the shim processes, pods', 'ExecSync `true`', 'cold: the first pod after the daemon idled out']) {
      t.match(stdout.slice(cri, ctr), section, `CRI: ${section}`);
    }
    for (const section of ['lifecycle through containerd', 'ctr run --rm', 'burst: 4', 'memory of the shim processes', 'ctr task exec', 'shim binary run as containerd runs it', 'ttrpc Connect']) {
      t.match(stdout, section, section);
    }
    t.notMatch(stdout, /^failures/m, 'no run failed');
    const files = fs.readdirSync(results).filter((f) => f.endsWith('.json'));
    t.equal(files.length, 1, 'one results file');
    const r = JSON.parse(fs.readFileSync(path.join(results, files[0]!), 'utf8')) as {
      table: { name?: string; ours?: number; go?: number }[];
      cri: { table: { name?: string; values?: Record<string, number> }[]; sides: { name: string; failures: string[] }[] };
    };
    t.same(r.cri.sides.map((s) => s.name), ['runc-v2', 'switchyard', 'sy-runsc', 'runc-v2-net', 'sy-sandbox'], 'every CRI side');
    for (const name of ['pod start p50', 'create→remove p50', 'rate, pods/s (higher is better)', 'teardown, s', 'CPU per pod to running, ms (the machine)', '  runtimes the shims ran (runc, runsc)', 'PSS, 2 pods', 'ExecSync p50', 'ExecSync p99', 'cold pod start p50']) {
      const v = r.cri.table.find((x) => x.name === name)?.values ?? {};
      t.ok(r.cri.sides.every((s) => Number.isFinite(v[s.name])), `CRI ${name}: a value for every side (${JSON.stringify(v)})`);
    }
    const gv = r.cri.table.find((x) => x.name?.includes('gVisor sandbox'))?.values ?? {};
    t.ok(Number.isFinite(gv['sy-runsc']), 'the gVisor processes of the runsc pods are measured');
    const row = (name: string) => r.table.find((x) => x.name === name);
    for (const name of ['task create→delete p50', 'PSS, 4 containers', 'exec p50']) {
      t.ok(Number.isFinite(row(name)?.ours) && Number.isFinite(row(name)?.go), `${name}: a value for both runtimes`);
    }
  });
}

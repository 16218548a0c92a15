/**
 * `make bench` keeps working: a tiny run of the real thing (private containerd, both
 * runtimes) completes, prints every section of the ratio table and writes its JSON.
 * Numbers are not checked: benchmarks are not tests.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireCommands, requireE2E } from './lib/prereq.js';
import { repoRoot } from './lib/image.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

if (requireE2E(t) && requireCommands(t, ['containerd-shim-runc-v2'])) {
  t.test('a small make bench run prints the whole table and writes its results', { timeout: 170_000 }, async (t) => {
    const results = tempDir(t);
    const { stdout } = await run(process.execPath, [path.join(repoRoot(), 'dist', 'bench', 'run.js')], {
      env: {
        PATH: process.env.PATH,
        BENCH_RUNS: '2',
        BENCH_BURST: '4',
        BENCH_BURST_CONCURRENCY: '2',
        BENCH_BURST_ROUNDS: '1',
        BENCH_RESULTS_DIR: results,
      },
      timeout: 160_000,
      maxBuffer: 4 << 20,
    });
    for (const section of ['lifecycle through containerd', 'ctr run --rm', 'burst: 4', 'memory of the shim processes', 'ctr task exec', 'shim binary run as containerd runs it', 'ttrpc Connect']) {
      t.match(stdout, section, section);
    }
    t.notMatch(stdout, /^failures/m, 'no run failed');
    const files = fs.readdirSync(results).filter((f) => f.endsWith('.json'));
    t.equal(files.length, 1, 'one results file');
    const r = JSON.parse(fs.readFileSync(path.join(results, files[0]!), 'utf8')) as { table: { name?: string; ours?: number; go?: number }[] };
    const row = (name: string) => r.table.find((x) => x.name === name);
    for (const name of ['task create→delete p50', 'PSS, 4 containers', 'exec p50']) {
      t.ok(Number.isFinite(row(name)?.ours) && Number.isFinite(row(name)?.go), `${name}: a value for both runtimes`);
    }
  });
}

/** make fuzz: N inputs (default 100,000) against a live daemon; prints tried, crashes, RSS. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../e2e/lib/image.js';
import { fuzz, startDaemon } from './fuzz.js';

const n = Number(process.argv[2] ?? process.env.FUZZ_INPUTS ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? 1);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-fuzz-'));
const d = await startDaemon(dir, repoRoot());
const started = Date.now();
try {
  const r = await fuzz(d, seed, n, 200, (s) => console.log(s));
  console.log(`seed ${seed}: inputs tried ${r.tried}, crashes ${r.crashes}, healthy calls unanswered ${r.unanswered}, daemon RSS ${r.rssBeforeKiB} KiB before, ${r.rssAfterKiB} KiB after, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = r.crashes || r.unanswered ? 1 : 0;
} finally {
  d.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

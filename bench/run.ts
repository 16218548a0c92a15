/** make bench: side-by-side benchmarks, printed as ours / containerd-shim-runc-v2 ratios. */
import fs from 'node:fs';
import os from 'node:os';
import { runTtrpcBench } from './ttrpc-rtt.js';

const r = await runTtrpcBench();
const rows = [
  ['ttrpc Connect RTT p50 (µs)', r.ours_p50_us!, r.go_p50_us!],
  ['ttrpc Connect RTT p99 (µs)', r.ours_p99_us!, r.go_p99_us!],
  ['ttrpc calls/s, 64 in flight', r.ours_calls_per_s!, r.go_calls_per_s!],
] as const;
process.stdout.write(`${'measure'.padEnd(32)}${'switchyard'.padStart(12)}${'runc-v2'.padStart(12)}${'ratio'.padStart(8)}\n`);
for (const [name, ours, go] of rows) {
  process.stdout.write(`${name.padEnd(32)}${ours.toFixed(1).padStart(12)}${go.toFixed(1).padStart(12)}${(ours / go).toFixed(2).padStart(8)}\n`);
}
fs.mkdirSync('bench/results', { recursive: true });
const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, node: process.version, results: r }, null, 2));
process.stdout.write(`results: ${file}\n`);

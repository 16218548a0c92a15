/**
 * Unary RTT and throughput of our ttrpc server against containerd-shim-runc-v2's, both
 * called by our client with Connect, interleaved in one run. Prints ours / Go ratios.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TtrpcClient } from '../src/transport/ttrpc/client.js';
import { taskServiceV2 } from '../src/api/task.js';
import { atExit } from './lib/exit.js';

const ROUNDS = 5;
const SEQUENTIAL = 2000;
const CONCURRENT = 20000;
const INFLIGHT = 64;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function measure(client: TtrpcClient) {
  const lat: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = process.hrtime.bigint();
    await client.call(taskServiceV2.Connect, { id: 'b' });
    lat.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next++ < CONCURRENT) await client.call(taskServiceV2.Connect, { id: 'b' });
    }),
  );
  return { lat, rate: CONCURRENT / ((performance.now() - t0) / 1000) };
}

export async function runTtrpcBench(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-bench-'));
  const procs: number[] = [];
  let goSocket = '';
  // On Ctrl-C too: both servers, the runc-v2 shim's socket (outside dir) and dir.
  const cleanup = atExit(() => {
    try {
      procs.push(Number(fs.readFileSync(path.join(dir, 'bundle', 'shim.pid'), 'utf8')));
    } catch {
      // not started
    }
    for (const pid of procs) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (goSocket) fs.rmSync(goSocket, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  try {
    // Ours, in its own process like the daemon.
    const sock = path.join(dir, 'ours.sock');
    const here = path.dirname(fileURLToPath(import.meta.url));
    const ours = spawn(process.execPath, [path.join(here, 'ttrpc-server.js'), sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(ours.pid!);
    await new Promise((r) => ours.stdout!.once('data', r));
    // Go: a real containerd-shim-runc-v2 daemon, started as containerd would.
    const bundle = path.join(dir, 'bundle');
    fs.mkdirSync(bundle);
    fs.writeFileSync(path.join(bundle, 'config.json'), '{"annotations":{}}');
    execFileSync('mkfifo', [path.join(bundle, 'log')]);
    const logFd = fs.openSync(path.join(bundle, 'log'), fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const addr = execFileSync('containerd-shim-runc-v2', ['-namespace', 'bench', '-id', `b${process.pid}`, '-address', path.join(dir, 'c.sock'), '-publish-binary', '/usr/bin/containerd', 'start'], {
      cwd: bundle,
      input: '',
      env: { PATH: process.env.PATH, TTRPC_ADDRESS: path.join(dir, 'c.sock.ttrpc') },
    }).toString().trim();
    goSocket = addr.replace('unix://', '');
    const a = await TtrpcClient.connect(sock);
    const g = await TtrpcClient.connect(addr);
    procs.push((await g.call(taskServiceV2.Connect, { id: 'x' })).shimPid);
    const res = { ours: { lat: [] as number[], rate: [] as number[] }, go: { lat: [] as number[], rate: [] as number[] } };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, c] of (r % 2 ? [['go', g], ['ours', a]] : [['ours', a], ['go', g]]) as [keyof typeof res, TtrpcClient][]) {
        const m = await measure(c);
        res[name].lat.push(...m.lat);
        res[name].rate.push(m.rate);
      }
    }
    a.close();
    g.close();
    fs.closeSync(logFd);
    const med = (xs: number[]) => pct(xs, 50);
    return {
      ours_p50_us: pct(res.ours.lat, 50),
      go_p50_us: pct(res.go.lat, 50),
      ours_p99_us: pct(res.ours.lat, 99),
      go_p99_us: pct(res.go.lat, 99),
      ours_calls_per_s: med(res.ours.rate),
      go_calls_per_s: med(res.go.rate),
    };
  } finally {
    cleanup();
  }
}

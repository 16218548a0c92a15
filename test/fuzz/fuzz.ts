/**
 * A seeded fuzzer for a live daemon's socket: random bytes, random and mutated ttrpc
 * frames, and real Task requests with mutated protobuf payloads. Between inputs a separate,
 * well-behaved client must keep getting answers; a daemon that dies or stops answering is a
 * crash. The same seed gives the same inputs.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { encodeFrame, FrameType, HEADER_LENGTH } from '../../src/transport/ttrpc/frame.js';
import { containerd, ttrpc } from '../../src/gen/proto.js';
import { TtrpcClient } from '../../src/transport/ttrpc/client.js';
import { taskServiceV2 } from '../../src/api/task.js';

/** xorshift32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const TASK = 'containerd.task.v2.Task';
// Shutdown is left out: with no task it rightly ends the daemon.
const METHODS = ['Create', 'Start', 'State', 'Wait', 'Kill', 'Delete', 'Pids', 'Exec', 'ResizePty', 'CloseIO', 'Pause', 'Resume', 'Update', 'Stats', 'Checkpoint', 'Connect'];

/** A plausible request for each method, to mutate. */
function seedPayload(method: string): Buffer {
  const v2 = containerd.task.v2;
  const any = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from('{"args":["true"]}') };
  switch (method) {
    case 'Create':
      return Buffer.from(v2.CreateTaskRequest.encode({ id: 'fz', bundle: '/', stdout: '/dev/null', rootfs: [{ type: 'bind', source: '/nonexistent', options: ['rbind'] }] }).finish());
    case 'Exec':
      return Buffer.from(v2.ExecProcessRequest.encode({ id: 'fz', execId: 'e', spec: any }).finish());
    case 'Update':
      return Buffer.from(v2.UpdateTaskRequest.encode({ id: 'fz', resources: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', value: Buffer.from('{"memory":{"limit":1}}') } }).finish());
    case 'Kill':
      return Buffer.from(v2.KillRequest.encode({ id: 'fz', signal: 9, all: true }).finish());
    case 'ResizePty':
      return Buffer.from(v2.ResizePtyRequest.encode({ id: 'fz', width: 80, height: 24 }).finish());
    default:
      return Buffer.from(v2.StateRequest.encode({ id: 'fz', execId: '' }).finish());
  }
}

function mutate(rng: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (rng.int(5)) {
    case 0: // flip bits
      for (let i = 0, n = 1 + rng.int(8); i < n && out.length; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    case 1: // truncate
      return out.subarray(0, rng.int(out.length + 1));
    case 2: // splice random bytes in
      return Buffer.concat([out.subarray(0, rng.int(out.length + 1)), rng.bytes(rng.int(64)), out.subarray(rng.int(out.length + 1))]);
    case 3: // absurd varint lengths
      return Buffer.concat([out, Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
    default:
      return rng.bytes(rng.int(256));
  }
}

/** One fuzz input: the bytes to write on a fresh connection. */
export function input(rng: Rng): Buffer {
  const stream = (rng.next() | 1) >>> 0;
  switch (rng.int(6)) {
    case 0:
      return rng.bytes(rng.int(512));
    case 1: {
      // A header with random fields and a body that may not match it.
      const h = Buffer.alloc(HEADER_LENGTH);
      h.writeUInt32BE(rng.pick([0, 1, 100, 4 << 20, (4 << 20) + 1, 1 << 24, 0xffffffff, rng.next()]), 0);
      h.writeUInt32BE(stream, 4);
      h[8] = rng.int(256);
      h[9] = rng.int(256);
      return Buffer.concat([h, rng.bytes(rng.int(256))]);
    }
    case 2: {
      // A well-formed frame whose Request is garbage.
      return encodeFrame({ streamId: stream, type: FrameType.Request, flags: 0, data: mutate(rng, rng.bytes(32)) });
    }
    default: {
      const method = rng.pick(METHODS);
      const service = rng.int(10) === 0 ? rng.pick(['', 'x.Y', TASK + 'z', 'containerd.task.v3.Task']) : TASK;
      const payload = rng.int(4) === 0 ? seedPayload(method) : mutate(rng, seedPayload(method));
      const req = ttrpc.Request.encode({ service, method: rng.int(20) === 0 ? rng.pick(['', 'Nope', method.toLowerCase()]) : method, payload, timeoutNano: rng.int(3) === 0 ? rng.int(1e9) : 0 }).finish();
      const frame = encodeFrame({ streamId: stream, type: rng.int(15) === 0 ? rng.int(6) : FrameType.Request, flags: rng.int(10) === 0 ? rng.int(256) : 0, data: Buffer.from(req) });
      return rng.int(10) === 0 ? Buffer.concat([frame, frame.subarray(0, rng.int(frame.length))]) : frame;
    }
  }
}

export interface Daemon {
  pid: number;
  socket: string;
  stop(): void;
}

/** A real daemon through the shim's own `start`, with its state in dir. */
export async function startDaemon(dir: string, repo: string): Promise<Daemon> {
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle, { recursive: true });
  fs.writeFileSync(path.join(bundle, 'config.json'), '{"annotations":{}}');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(config, `idle_timeout = "1h"\nstate_dir = "${dir}/state"\n`);
  const ns = `fuzz${process.pid}`;
  const child = spawn(
    process.execPath,
    [path.join(repo, 'bin', 'containerd-shim-switchyard-v2.cjs'), '-namespace', ns, '-id', 'fz', '-address', path.join(dir, 'c.sock'), '-publish-binary', '/bin/true', 'start'],
    { cwd: bundle, env: { PATH: process.env.PATH, SWITCHYARD_CONFIG: config, TTRPC_ADDRESS: path.join(dir, 'c.sock.ttrpc') }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdin.end();
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0 || !out.trim().startsWith('unix://')) throw new Error(`start exited ${code} with ${JSON.stringify(out)} (its stderr is above)`);
  const socket = out.trim().replace(/^unix:\/\//, '');
  const client = await TtrpcClient.connect(socket);
  const { shimPid } = await client.service(taskServiceV2).Connect({ id: 'fz' }, { timeoutMs: 5000 });
  client.close();
  return {
    pid: shimPid,
    socket,
    stop() {
      try {
        process.kill(shimPid, 'SIGKILL');
      } catch {
        // already gone
      }
      fs.rmSync(socket, { force: true });
    },
  };
}

export const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** Writes one input on a fresh connection and closes it soon after (the daemon may answer or drop it). */
export function send(socket: string, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    const done = () => {
      c.destroy();
      resolve();
    };
    c.on('error', done);
    c.on('connect', () => {
      c.write(data);
      setTimeout(done, 2);
    });
  });
}

export interface FuzzResult {
  tried: number;
  crashes: number;
  unanswered: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
}

/** Runs n inputs from seed against the daemon; every `checkEvery` inputs a healthy client must be answered. */
export async function fuzz(d: Daemon, seed: number, n: number, checkEvery = 100, log: (s: string) => void = () => undefined): Promise<FuzzResult> {
  const rng = new Rng(seed);
  const healthy = await TtrpcClient.connect(d.socket);
  const task = healthy.service(taskServiceV2);
  const r: FuzzResult = { tried: 0, crashes: 0, unanswered: 0, rssBeforeKiB: rssKiB(d.pid), rssAfterKiB: 0 };
  const batch = 8;
  try {
    while (r.tried < n) {
      const k = Math.min(batch, n - r.tried);
      await Promise.all(Array.from({ length: k }, () => send(d.socket, input(rng))));
      r.tried += k;
      if (r.tried % checkEvery < batch || r.tried >= n) {
        if (!fs.existsSync(`/proc/${d.pid}`)) {
          r.crashes++;
          log(`daemon died after ${r.tried} inputs (seed ${seed})`);
          break;
        }
        try {
          await task.Connect({ id: 'fz' }, { timeoutMs: 5000 });
        } catch (err) {
          r.unanswered++;
          log(`healthy client not answered after ${r.tried} inputs: ${(err as Error).message}`);
        }
        if (r.tried % 10_000 < batch) log(`${r.tried} inputs, rss ${rssKiB(d.pid)} KiB`);
      }
    }
  } finally {
    healthy.close();
  }
  r.rssAfterKiB = fs.existsSync(`/proc/${d.pid}`) ? rssKiB(d.pid) : 0;
  return r;
}

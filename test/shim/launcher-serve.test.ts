// The daemon as `start` runs it (the launcher in bin/, the daemon's flags): its first log
// line says how long it took to serve and whether the code cache was used.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { DAEMON_NODE_FLAGS } from '../../src/shim/start.js';
import { repoRoot } from '../e2e/lib/image.js';
import { tempDir } from '../helpers/tmp.js';

interface Serving {
  startupMs: number;
  codeCache: string;
  /** SIGTERM, as an operator stops it; resolves when it has exited. */
  stop(): Promise<unknown>;
}

async function daemonServing(t: Test, cacheSetting: string): Promise<Serving> {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'state'));
  const launcher = path.join(repoRoot(), 'bin/containerd-shim-switchyard-v2.cjs');
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, launcher, '-namespace', 'launcher-test', '-id', 'x', '-address', path.join(dir, 'none.sock'), '-publish-binary', '/bin/true', 'serve'], {
    cwd: '/',
    stdio: ['ignore', 'ignore', 'ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      SWITCHYARD_DAEMON_SOCKET: path.join(dir, 'd.sock'),
      SWITCHYARD_DAEMON_STATE: path.join(dir, 'state'),
      SWITCHYARD_DAEMON_LOG: path.join(dir, 'daemon.log'),
      SWITCHYARD_DAEMON_LISTEN_FD: '',
      SWITCHYARD_CONFIG: '',
      SWITCHYARD_CODE_CACHE: cacheSetting,
    },
  });
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    (child.stdio[4] as Readable).on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    void exited.then(() => resolve(`exited: ${text}`));
  });
  t.equal(answer, 'ok', 'the daemon is ready');
  const line = fs.readFileSync(path.join(dir, 'daemon.log'), 'utf8').split('\n').find((l) => l.includes('"daemon serving"'));
  return { ...(JSON.parse(line!) as { startupMs: number; codeCache: string }), stop: () => (child.kill('SIGTERM'), exited) };
}

t.test('through the code cache: its outcome and the start-up time are logged', async (t) => {
  const cache = path.join(tempDir(t), 'cache');
  const first = await daemonServing(t, cache);
  t.equal(first.codeCache, 'missing', 'a new cache folder');
  t.ok(first.startupMs > 0 && first.startupMs < 60_000, `start-up ${first.startupMs} ms`);
  // A daemon that leaves before its 3 s timer writes the cache on its way out.
  await first.stop();
  t.equal(fs.readdirSync(cache).filter((n) => n.startsWith('serve.cjs.')).length, 1, 'written at exit');
  const second = await daemonServing(t, cache);
  t.equal(second.codeCache, 'used', 'the next daemon compiles nothing it was given');
});

t.test('SWITCHYARD_CODE_CACHE=off loads the daemon as require does', async (t) => {
  const off = await daemonServing(t, 'off');
  t.equal(off.codeCache, 'off');
});

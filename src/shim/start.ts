/**
 * `start`: find or spawn the daemon for this task's group, print its address, exit. Runs
 * for every container, so it loads only the config reader and node built-ins.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadConfig, type Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import type { ShimArgs } from './argv.js';
import { readStdinOptions, type RuntimeOptions } from './options.js';
import { placeDaemon } from './daemon-placement.js';
import { daemonPaths, type DaemonPaths } from './paths.js';
import { addressFileAnswer, bootstrapAnswer, chooseBootstrapVersion } from './bootstrap.js';
import { containerdVersion } from './containerd-version.js';
import { probeUnixSocket } from '../transport/probe.js';
import { lock } from '../sys/lock.js';
import { handoverLockName, writeClaim } from './handover.js';

const READY_TIMEOUT_MS = 15_000;
/** A start holding the lock may be waiting for a new daemon to be ready. */
const LOCK_TIMEOUT_MS = READY_TIMEOUT_MS + 5_000;

/**
 * --lite-mode: no optimizing compiler and lazily allocated feedback; a daemon that mostly
 * waits on sockets and children loses no measurable CPU and ~17 MiB of RSS (make bench).
 * --max-semi-space-size=1 keeps the young generation from growing to 16 MiB per semispace
 * under a burst and staying committed.
 * --expose-gc: Debug/Info collects before it reports the heap, so churn sees what stays.
 */
export const DAEMON_NODE_FLAGS = ['--lite-mode', '--max-semi-space-size=1', '--expose-gc'];

export async function start(args: ShimArgs): Promise<number> {
  try {
    const options = readStdinOptions();
    const cfg = loadConfig(options?.configPath);
    const bundle = process.cwd();
    const paths = daemonPaths(cfg, args.address, args.namespace, bundle, args.id, options?.configPath, options?.shimCgroup);
    // Which containerd asks decides the answer; an answer it cannot take fails before a daemon starts.
    const containerd = cfg.bootstrapVersion === 'auto' || cfg.protocol === 'grpc' ? await containerdVersion(args.publishBinary, cfg.stateDir) : undefined;
    const version = chooseBootstrapVersion(cfg.bootstrapVersion, containerd, cfg.protocol);
    const answer = bootstrapAnswer(cfg.protocol, version, paths.socket, containerd, cfg.bootstrapVersion !== 'auto');
    // Under the hand-over lock: the daemon found stays until this task's Create (handover.ts).
    const held = await lock(handoverLockName(paths.socket), LOCK_TIMEOUT_MS);
    try {
      await ensureDaemon(args, cfg, paths, options);
      writeClaim(paths.stateDir, args.id);
    } finally {
      await held.release();
    }
    fs.writeFileSync(path.join(bundle, 'address'), addressFileAnswer(cfg.protocol, paths.socket));
    // containerd reads stdout and stderr together: the answer must be all that is printed.
    process.stdout.write(answer);
    return 0;
  } catch (err) {
    process.stderr.write(`switchyard start: ${describe(err)}\n`);
    return 1;
  }
}

/** Whether a daemon answers on the socket. */
async function dial(socket: string): Promise<boolean> {
  return (await probeUnixSocket(socket)) === undefined;
}

async function ensureDaemon(args: ShimArgs, cfg: Config, paths: DaemonPaths, options: RuntimeOptions | undefined): Promise<void> {
  fs.mkdirSync(path.dirname(paths.socket), { recursive: true, mode: 0o700 });
  fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await dial(paths.socket)) return;
    if (cfg.protocol === 'grpc') {
      // grpc-js cannot serve an inherited fd: the daemon binds its own socket.
      fs.rmSync(paths.socket, { force: true });
      return spawnDaemon(args, paths, options);
    }
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
      server.listen({ path: paths.socket, backlog: 511 }, () => resolve(true));
    });
    if (!bound) {
      // Another start may have just bound it; if nobody answers, it is stale.
      if (await dial(paths.socket)) return;
      fs.rmSync(paths.socket, { force: true });
      continue;
    }
    fs.chmodSync(paths.socket, 0o600);
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    // The socket listens before we print: containerd dials at once and must not fail.
    return spawnDaemon(args, paths, options, fd);
  }
  throw new Error(`cannot bind or reach ${paths.socket}`);
}

async function spawnDaemon(args: ShimArgs, paths: DaemonPaths, options: RuntimeOptions | undefined, listenFd?: number): Promise<void> {
  const configPath = options?.configPath;
  // The binary containerd ran us as: the daemon is the same program, so a reinstall never mixes versions.
  const entry = process.argv[1]!;
  const argv = ['-namespace', args.namespace, '-id', args.id, '-address', args.address, '-publish-binary', args.publishBinary];
  if (args.debug) argv.push('-debug');
  argv.push('serve');
  // Only the first start of a group forks; the rest find the daemon warm.
  const { spawn } = await import('node:child_process');
  // Never our fds 1 and 2: containerd waits for every writer of start's output to close, and
  // whoever reads containerd's own output must not wait for our daemon. What the daemon
  // prints outside its logger (a crash, a warning from node) goes to its log.
  fs.mkdirSync(path.dirname(paths.logFile), { recursive: true, mode: 0o700 });
  const out = fs.openSync(paths.logFile, 'a', 0o600);
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, entry, ...argv], {
    cwd: '/',
    detached: true,
    // fd 4 is a readiness channel private to us: the daemon writes one line and closes it.
    stdio: ['ignore', out, out, listenFd ?? 'ignore', 'pipe'],
    env: {
      ...process.env,
      SWITCHYARD_DAEMON_SOCKET: paths.socket,
      SWITCHYARD_DAEMON_STATE: paths.stateDir,
      SWITCHYARD_DAEMON_LOG: paths.logFile,
      SWITCHYARD_DAEMON_LISTEN_FD: listenFd === undefined ? '' : '3',
      SWITCHYARD_CONFIG: configPath ?? process.env.SWITCHYARD_CONFIG ?? '',
    },
  });
  child.unref();
  fs.closeSync(out);
  try {
    placeDaemon(child.pid!, options?.shimCgroup);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const answer = await readReady(child.stdio[4] as net.Socket);
  if (answer !== 'ok') throw new Error(`daemon did not start: ${answer || 'it exited'} (log: ${paths.logFile})`);
}

function readReady(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => finish(`no answer in ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const finish = (v: string) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    s.on('data', (d) => {
      text += d.toString();
      if (text.includes('\n')) finish(text.split('\n')[0]!.trim());
    });
    s.on('end', () => finish(text.trim()));
    s.on('error', (e) => finish(e.message));
  });
}

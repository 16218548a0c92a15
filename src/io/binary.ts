/**
 * binary:// logging (docs/protocol.md §5.3): a logging binary reads the container's stdout and
 * stderr from pipes on its fds 3 and 4, and says it is ready on fd 5 (a byte, or closing
 * it). The container gets the pipes' write ends, real pipes, never socketpairs.
 */
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { deadlineExceeded, failedPrecondition } from '../errors/index.js';
import { pipe2Cloexec } from '../sys/fds.js';
import { waitReadable } from '../sys/poll.js';
import type { FdSet } from './fd-set.js';

export interface LoggingBinaryOptions {
  path: string;
  args: string[];
  containerId: string;
  namespace: string;
  logger?: Logger;
  /** How long the binary may take to signal ready (default 10 s). */
  readyTimeoutMs?: number;
  /**
   * At stop, how long to let the binary drain the pipes and exit on EOF by itself before
   * SIGTERM (default 2 s). The runc shim sends SIGTERM at once, which can cut the tail of
   * the log.
   */
  drainMs?: number;
  /** After SIGTERM, how long before SIGKILL (default 12 s, as the runc shim). */
  termTimeoutMs?: number;
  /** Owner for the pipes (runc options io_uid/io_gid), for a container in a user namespace. */
  ioUid?: number;
  ioGid?: number;
}

export interface LoggingBinary {
  /** Write ends: the container's stdout and stderr. Owned by the FdSet passed in. */
  readonly stdout: number;
  readonly stderr: number;
  readonly pid: number;
  /** Let it drain, then SIGTERM, then SIGKILL; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

const STDERR_TAIL = 4096;

const PF_EXITING = 0x4;

/**
 * Whether pid is dead or dying. A dying process sets PF_EXITING before it closes its fds,
 * so once its fd 5 has read EOF this answer is exact, unlike the zombie state, which
 * comes a moment after the fds are closed.
 */
function isDying(pid: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return true;
  }
  // Fields after "(comm) ": state, ppid, pgrp, session, tty_nr, tpgid, flags.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return rest[0] === 'Z' || rest[0] === 'X' || (Number(rest[6]) & PF_EXITING) !== 0;
}

export async function startLoggingBinary(fds: FdSet, opts: LoggingBinaryOptions): Promise<LoggingBinary> {
  const log = opts.logger?.child({ loggingBinary: opts.path });
  const [outR, outW] = pipe2Cloexec();
  fds.adopt(outR, outW);
  const [errR, errW] = pipe2Cloexec();
  fds.adopt(errR, errW);
  const [readyR, readyW] = pipe2Cloexec();
  fds.adopt(readyR, readyW);
  if (opts.ioUid !== undefined || opts.ioGid !== undefined) {
    for (const fd of [outR, outW, errR, errW]) fs.fchownSync(fd, opts.ioUid ?? -1, opts.ioGid ?? -1);
  }

  let child: ChildProcess;
  try {
    child = spawn(opts.path, opts.args, {
      // What containerd's logging helpers expect: fd 3 stdout, fd 4 stderr, fd 5 ready.
      stdio: ['ignore', 'ignore', 'pipe', outR, errR, readyW],
      // Exactly these two, no PATH: the runc shim passes nothing else.
      env: { CONTAINER_ID: opts.containerId, CONTAINER_NAMESPACE: opts.namespace },
      // Not the daemon's cwd, which is some bundle: the logger must not pin it.
      cwd: '/',
    });
  } catch (err) {
    throw failedPrecondition(`logging binary ${opts.path}: ${(err as Error).message}`, err);
  }
  child.on('error', (err) => log?.warn({ err: err.message }, 'logging binary'));
  // The binary has its copies; ours would keep its fd 5 from ever reading EOF.
  fds.close(outR);
  fds.close(errR);
  fds.close(readyW);

  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderrTail = (stderrTail + d).slice(-STDERR_TAIL);
  });
  child.stderr?.on('error', () => {});
  const stderrDone = new Promise<void>((resolve) => (child.stderr ? child.stderr.once('close', () => resolve()) : resolve()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const why = () => (child.signalCode ? `signal ${child.signalCode}` : `exit code ${child.exitCode}`) + (stderrTail.trim() ? `: ${stderrTail.trim()}` : '');

  try {
    if (child.pid === undefined) {
      // spawn failures (ENOENT, EACCES) are reported only through 'error', a tick later.
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
      throw failedPrecondition(`logging binary ${opts.path}: cannot run it: ${err.code ?? err.message}`, err);
    }
    const timeoutMs = opts.readyTimeoutMs ?? 10_000;
    try {
      await waitReadable(readyR, { timeoutMs });
    } catch (err) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(1000, undefined, { ref: false })]);
      throw deadlineExceeded(`logging binary ${opts.path} did not signal ready on fd 5 within ${timeoutMs} ms`, err);
    }
    // Ready is a byte or EOF, and EOF also comes when the binary dies. libuv reports the
    // exit later than poll reports the EOF, so ask procfs.
    const gotByte = fs.readSync(readyR, Buffer.alloc(1)) === 1;
    if (!gotByte && isDying(child.pid)) {
      // Its exit status and last words make the error worth reading.
      await Promise.race([Promise.all([exited, stderrDone]), sleep(1000, undefined, { ref: false })]);
      throw failedPrecondition(`logging binary ${opts.path} exited before the container started (${why()})`);
    }
  } catch (err) {
    child.stderr?.destroy();
    throw err;
  } finally {
    fds.close(readyR);
  }
  const pid = child.pid;
  log?.debug({ pid, args: opts.args }, 'logging binary ready');

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    if (!hasExited()) {
      const drainMs = opts.drainMs ?? 2000;
      const termMs = opts.termTimeoutMs ?? 12_000;
      const ac = new AbortController();
      const timeout = (ms: number) => sleep(ms, 'timeout' as const, { signal: ac.signal }).catch(() => 'aborted' as const);
      try {
        if (drainMs > 0 && (await Promise.race([exited.then(() => 'exited' as const), timeout(drainMs)])) === 'exited') return;
        if (!hasExited()) child.kill('SIGTERM');
        if ((await Promise.race([exited.then(() => 'exited' as const), timeout(termMs)])) === 'exited') return;
        log?.warn({ pid, termTimeoutMs: termMs }, 'logging binary ignored SIGTERM: killing it');
        child.kill('SIGKILL');
        await exited;
      } finally {
        ac.abort();
      }
    }
  };
  return {
    stdout: outW,
    stderr: errW,
    pid,
    stop: () => {
      stopping ??= stop().finally(() => {
        child.stderr?.destroy();
        if (child.exitCode !== 0) log?.info({ pid, status: why() }, 'logging binary stopped');
      });
      return stopping;
    },
  };
}

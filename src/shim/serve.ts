/**
 * `serve`: the lifecycle of the resident daemon of one group. It tells `start` when it is
 * ready (or why not), lingers while idle so a burst of short tasks finds it warm, and
 * leaves cleanly: its socket, card and (with no task left) its directory go with it. What
 * the daemon is made of is wiring.ts's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import type { ShimArgs } from './argv.js';
import { DaemonLog, logRefusal, pruneLogs } from './log.js';
import { VERSION } from './version.js';
import { clearClaim, freshClaims, handoverLockName } from './handover.js';
import { lock, tryLock, type HeldLock } from '../sys/lock.js';
import { listen, wireDaemon, type Daemon, type Listener } from './wiring.js';

/** The readiness channel `start` hands the daemon (fd 4): one line, "ok" or "error: why". */
const READY_FD = 4;

function ready(msg: string): void {
  try {
    fs.writeSync(READY_FD, `${msg}\n`);
    fs.closeSync(READY_FD);
  } catch {
    // Started by hand, without a readiness channel.
  }
}

/** How the daemon's code was loaded (the launcher's code cache), for its first log line. */
export interface ServeOrigin {
  codeCache?: string;
}

export async function serve(args: ShimArgs, origin: ServeOrigin = {}): Promise<number> {
  const socket = process.env.SWITCHYARD_DAEMON_SOCKET || args.socket;
  const stateDir = process.env.SWITCHYARD_DAEMON_STATE || '/run/switchyard/daemons/manual';
  const listenFd = process.env.SWITCHYARD_DAEMON_LISTEN_FD ? Number(process.env.SWITCHYARD_DAEMON_LISTEN_FD) : undefined;
  let cfg: Config;
  let daemonLog: DaemonLog;
  try {
    cfg = loadConfig(process.env.SWITCHYARD_CONFIG || undefined);
    const logFile = process.env.SWITCHYARD_DAEMON_LOG || path.join(stateDir, 'daemon.log');
    pruneLogs(path.dirname(logFile), logFile);
    daemonLog = new DaemonLog(logFile, args.debug ? 'debug' : cfg.logLevel);
  } catch (err) {
    ready(`error: ${describe(err)}`);
    return 1;
  }
  const log = daemonLog.logger.child({ ns: args.namespace });
  // Containment: a bug in one request is logged and answered; it never takes every task down.
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  const life = new Lifecycle(cfg, socket, stateDir, log);
  const daemon = wireDaemon({
    args,
    cfg,
    log,
    daemonLog,
    stateDir,
    onIdle: (idle) => life.idle(idle),
    onShutdown: (now) => (now ? life.shutdown() : life.idle(true)),
  });
  daemon.reaper.start();
  daemon.callLog.onCall((c) => {
    // The Create a start claimed us for has been answered, or containerd gave the task up
    // (Shutdown or Delete for it without a Create reaching us): the claim has done its job.
    if (c.method === 'Create' || c.method === 'Shutdown' || (c.method === 'Delete' && !c.execId)) clearClaim(stateDir, c.taskId);
    // containerd often drops our message on the floor: the operator must find it here.
    if (c.code !== 0) logRefusal(log, c);
  });
  try {
    life.serving(
      daemon,
      await listen(daemon, cfg, { socket, listenFd }, {
        log,
        // A `start` dials before it answers containerd: an idle daemon that just counted
        // as found must still be there when containerd connects a moment later.
        onConnection: () => life.touch(),
      }),
    );
  } catch (err) {
    daemon.reaper.stop();
    ready(`error: ${describe(err)}`);
    return 1;
  }
  if (cfg.metricsAddress) {
    try {
      life.closeMetrics = await daemon.metrics.serve(cfg.metricsAddress);
    } catch (err) {
      // Metrics are for operators; a taken port must not keep pods from running.
      log.warn({ err: describe(err), address: cfg.metricsAddress }, 'cannot serve metrics');
    }
  }
  // Start-up time since the process began (Node's own start included): what a cold pod waits for.
  log.info({ socket, protocol: cfg.protocol, version: VERSION, startupMs: Math.round(process.uptime() * 1000), codeCache: origin.codeCache ?? 'off' }, 'daemon serving');
  writeCard(stateDir, { socket, cfg, args });
  ready('ok');
  life.idle(true);
  process.on('SIGTERM', () => void life.stop('SIGTERM'));
  const code = await life.done;
  daemon.reaper.stop();
  return code;
}

/** The daemon's card, for `switchyard ps` and the other CLI commands to find it by. */
function writeCard(stateDir: string, o: { socket: string; cfg: Config; args: ShimArgs }): void {
  fs.writeFileSync(
    path.join(stateDir, 'daemon.json'),
    JSON.stringify({
      pid: process.pid,
      socket: o.socket,
      protocol: o.cfg.protocol,
      namespace: o.args.namespace,
      address: o.args.address,
      config: o.cfg.source,
      stateDir: o.cfg.stateDir,
      version: VERSION,
      startedAt: new Date().toISOString(),
    }),
    { mode: 0o600 },
  );
}

/** When the daemon leaves (idle long enough, Shutdown with none left, SIGTERM) and how. */
class Lifecycle {
  closeMetrics: (() => Promise<void>) | undefined;
  readonly done: Promise<number>;
  private resolveDone: (code: number) => void = () => undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private daemon: Daemon | undefined;
  private server: Listener | undefined;
  /** Identity of the socket we bound: a later daemon may own the path by the time we leave. */
  private socketId: string | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly socket: string,
    private readonly stateDir: string,
    private readonly log: DaemonLog['logger'],
  ) {
    this.done = new Promise<number>((r) => (this.resolveDone = r));
  }

  serving(daemon: Daemon, server: Listener): void {
    this.daemon = daemon;
    this.server = server;
    this.socketId = fileId(this.socket);
  }

  /** Starts (idle) or cancels (busy) the countdown to leaving. */
  idle(idle: boolean): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!idle || this.closing) return;
    const timer: NodeJS.Timeout = setTimeout(() => void this.leaveIfIdle(timer, 'idle'), this.cfg.idleTimeoutMs);
    this.idleTimer = timer;
  }

  /** A connection while idle restarts the countdown. */
  touch(): void {
    if (this.idleTimer) this.idle(true);
  }

  /** Shutdown with no task left: leave now, unless a start has just claimed us. */
  shutdown(): void {
    if (this.closing) return;
    this.idle(true);
    void this.leaveIfIdle(this.idleTimer!, 'shutdown');
  }

  /** SIGTERM: leave whatever a start may have claimed. */
  async stop(why: string): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.idle(false);
    // Still under the lock, so no start counts us as found while we go; a stuck holder cannot keep us.
    const held = await lock(handoverLockName(this.socket), 5_000).catch(() => undefined);
    try {
      this.unfindable();
    } finally {
      await held?.release();
    }
    await this.finish(why);
  }

  /**
   * Leaves if, under the hand-over lock, nothing wants us: no task, no connection since
   * `timer` was armed (a connection re-arms it), no fresh claim by a start (handover.ts).
   */
  private async leaveIfIdle(timer: NodeJS.Timeout, why: string): Promise<void> {
    let held: HeldLock | undefined;
    try {
      held = await tryLock(handoverLockName(this.socket));
    } catch (err) {
      this.log.warn({ err: describe(err) }, 'cannot take the hand-over lock');
    }
    // A start holds it: it is finding us right now and will claim us, so we stay.
    if (!held) return void (this.idleTimer === timer && this.idle(true));
    try {
      // A start that found us before we took the lock has its connection queued in the
      // kernel: one turn of the loop accepts it, and that re-arms the timer.
      await new Promise((r) => setImmediate(r));
      if (this.closing || this.idleTimer !== timer || (this.daemon?.service.size ?? 0) > 0) return;
      const claims = freshClaims(this.stateDir);
      if (claims.length > 0) {
        this.log.debug({ claims, why }, 'idle, but a start has claimed this daemon for a task not created yet');
        this.idle(true);
        return;
      }
      this.closing = true;
      this.idle(false);
      this.unfindable();
    } finally {
      await held.release();
    }
    await this.finish(why);
  }

  /** Under the lock: no start may find us after this, and our directory is free for the next daemon. */
  private unfindable(): void {
    // Only our own socket: a `start` that found us gone may already have bound a new daemon's there.
    if (this.socket && this.socketId !== undefined && fileId(this.socket) === this.socketId) fs.rmSync(this.socket, { force: true });
    // A clean exit leaves no task behind: the daemon's directory (card, claims) goes too.
    if ((this.daemon?.service.size ?? 0) === 0) fs.rmSync(this.stateDir, { recursive: true, force: true });
    else fs.rmSync(path.join(this.stateDir, 'daemon.json'), { force: true });
  }

  private async finish(why: string): Promise<void> {
    this.log.info({ why }, 'daemon exiting');
    await this.daemon?.events.flush();
    await this.server?.close();
    await this.daemon?.backends.delegates.close();
    await this.closeMetrics?.();
    this.resolveDone(0);
  }
}

function fileId(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

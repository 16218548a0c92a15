/**
 * `serve`: the resident daemon of one group. It holds the task table, reaps container
 * exits as child subreaper, publishes events, and lingers while idle so a burst of short
 * tasks finds it warm.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import { taskServiceV2, taskServiceV3 } from '../api/task.js';
import { TtrpcServer } from '../transport/ttrpc/server.js';
import { ForwardPublisher } from '../events/publisher.js';
import { Reaper } from '../sys/reaper.js';
import { Runtimes } from './runtimes.js';
import { DelegatedTasks } from '../task/delegated.js';
import { CallLog } from './call-log.js';
import { DaemonMetrics } from './metrics.js';
import { debugService } from '../api/debug.js';
import { TaskService } from '../task/service.js';
import { CgroupMonitor } from '../task/monitor.js';
import type { ShimArgs } from './argv.js';
import { DaemonLog } from './log.js';
import { VERSION } from './version.js';
import { recordingBundleAddress } from './bundle-address.js';
import { addressFileAnswer } from './bootstrap.js';

export async function serve(args: ShimArgs): Promise<number> {
  const socket = process.env.SWITCHYARD_DAEMON_SOCKET || args.socket;
  const stateDir = process.env.SWITCHYARD_DAEMON_STATE || '/run/switchyard/daemons/manual';
  const listenFd = process.env.SWITCHYARD_DAEMON_LISTEN_FD ? Number(process.env.SWITCHYARD_DAEMON_LISTEN_FD) : undefined;
  const ready = (msg: string) => {
    try {
      fs.writeSync(4, `${msg}\n`);
      fs.closeSync(4);
    } catch {
      // Started by hand, without a readiness channel.
    }
  };
  let cfg: Config;
  let daemonLog: DaemonLog;
  try {
    cfg = loadConfig(process.env.SWITCHYARD_CONFIG || undefined);
    daemonLog = new DaemonLog(path.join(stateDir, 'daemon.log'), args.debug ? 'debug' : cfg.logLevel);
  } catch (err) {
    ready(`error: ${describe(err)}`);
    return 1;
  }
  const log = daemonLog.logger.child({ ns: args.namespace });
  // Containment: a bug in one request is logged and answered; it never takes every task down.
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  const reaper = new Reaper({ onError: (err) => log.warn({ err: describe(err) }, 'reaper') });
  reaper.start();
  const events = new ForwardPublisher({
    ttrpcAddress: process.env.TTRPC_ADDRESS || `${args.address}.ttrpc`,
    namespace: args.namespace,
    logger: log,
  });
  const callLog = new CallLog();
  let service: TaskService | undefined;
  const metrics = new DaemonMetrics(() => (service?.list() ?? []).map((t) => ({ runtime: t.driverName, state: t.status })));
  callLog.onCall(metrics.onCall);
  const runtimes = new Runtimes(
    cfg,
    args.namespace,
    log,
    {
      decided: (d) => metrics.decided(d.runtime, d.rule),
      refused: (rule, kind) => metrics.refused(rule, kind),
    },
    (rt) => (task) => ({
      binary: rt.binary,
      namespace: args.namespace,
      id: task.id,
      bundle: task.bundle,
      address: args.address,
      publishBinary: args.publishBinary,
      debug: args.debug,
      options: rt.options,
      env: process.env,
      timeoutMs: cfg.runtimeTimeoutMs,
    }),
  );
  const delegates = new DelegatedTasks({ events, log, workRoot: path.join(stateDir, 'delegates') });

  let closeMetrics: (() => Promise<void>) | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let socketId: string | undefined;
  let closing = false;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));
  const stop = async (why: string) => {
    if (closing) return;
    closing = true;
    log.info({ why }, 'daemon exiting');
    await events.flush();
    await server?.close();
    // Only our own socket: a `start` that found us gone may already have bound a new daemon's there.
    if (socket && sameFile(socket, socketId)) fs.rmSync(socket, { force: true });
    // A clean exit leaves no task behind: the daemon's directory (card and log) goes too.
    await closeMetrics?.();
    if (service!.size === 0) fs.rmSync(stateDir, { recursive: true, force: true });
    else fs.rmSync(path.join(stateDir, 'daemon.json'), { force: true });
    resolveDone(0);
  };
  const scheduleIdle = (idle: boolean) => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (idle && !closing) idleTimer = setTimeout(() => void stop('idle'), cfg.idleTimeoutMs);
  };

  service = new TaskService({
    namespace: args.namespace,
    events,
    reaper,
    log,
    version: VERSION,
    driverFor: (task) => runtimes.driverFor(task),
    forget: (id) => runtimes.forget(id),
    delegates,
    onIdle: scheduleIdle,
    onShutdown: (now) => (now ? void stop('shutdown') : scheduleIdle(true)),
    logs: daemonLog,
    monitor: new CgroupMonitor(log),
  });

  const info = () => ({ tasks: service?.size ?? 0, version: VERSION });
  const served = recordingBundleAddress(service, addressFileAnswer(cfg.protocol, socket), (err) => log.warn({ err: describe(err) }, 'cannot write the bundle address'));
  let server: { close(): Promise<void> } | undefined;
  try {
    if (cfg.protocol === 'grpc') {
      const { GrpcServer } = await import('../transport/grpc/server.js');
      const g = new GrpcServer();
      g.addService(taskServiceV3, served);
      g.addService(taskServiceV2, served);
      g.addService(debugService, callLog.service(info));
      g.observe(callLog.observe);
      await g.listen(socket);
      server = g;
    } else {
      const t = new TtrpcServer({
        onProtocolError: (err) => log.warn({ err: err.message }, 'dropped a connection'),
        // A `start` dials before it answers containerd: an idle daemon that just counted
        // as found must still be there when containerd connects a moment later.
        onConnection: () => idleTimer && scheduleIdle(true),
      });
      t.addService(taskServiceV2, served);
      t.addService(taskServiceV3, served);
      t.addService(debugService, callLog.service(info));
      t.observe(callLog.observe);
      await t.listen(listenFd !== undefined ? { fd: listenFd } : socket);
      server = t;
    }
  } catch (err) {
    ready(`error: ${describe(err)}`);
    return 1;
  }
  if (cfg.metricsAddress) {
    try {
      closeMetrics = await metrics.serve(cfg.metricsAddress);
    } catch (err) {
      // Metrics are for operators; a taken port must not keep pods from running.
      log.warn({ err: describe(err), address: cfg.metricsAddress }, 'cannot serve metrics');
    }
  }
  socketId = fileId(socket);
  log.info({ socket, protocol: cfg.protocol, version: VERSION }, 'daemon serving');
  // The daemon's card, for `switchyard ps` and the other CLI commands to find it by.
  const card = path.join(stateDir, 'daemon.json');
  fs.writeFileSync(
    card,
    JSON.stringify({
      pid: process.pid,
      socket,
      protocol: cfg.protocol,
      namespace: args.namespace,
      address: args.address,
      config: cfg.source,
      stateDir: cfg.stateDir,
      version: VERSION,
      startedAt: new Date().toISOString(),
    }),
    { mode: 0o600 },
  );
  ready('ok');
  scheduleIdle(true);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const code = await done;
  reaper.stop();
  return code;
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

function sameFile(file: string, id: string | undefined): boolean {
  return id !== undefined && fileId(file) === id;
}

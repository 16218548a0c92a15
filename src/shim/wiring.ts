/**
 * What one daemon is made of, and how its parts are joined: the reaper and the event
 * publisher below, the two backends, the choice between them, the Task service and the
 * pod-level Sandbox service on top, and the servers that expose them. The daemon's lifecycle (readiness, idle exit) is serve.ts's.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { taskServiceV2, taskServiceV3 } from '../api/task.js';
import { debugService } from '../api/debug.js';
import { TtrpcServer } from '../transport/ttrpc/server.js';
import { ForwardPublisher } from '../events/publisher.js';
import { Reaper } from '../sys/reaper.js';
import { spawnFast } from '../sys/spawn.js';
import { describe } from '../errors/index.js';
import { DelegateBackend } from '../backends/shim/delegate-backend.js';
import { LocalBackend } from '../task/local-backend.js';
import { CgroupMonitor } from '../task/monitor.js';
import type { NewTask, Placement } from '../task/placement.js';
import { TaskService } from '../task/service.js';
import type { ShimArgs } from './argv.js';
import { BackendChoice } from './backend-choice.js';
import { CallLog } from './call-log.js';
import type { DaemonLog } from './log.js';
import { DaemonMetrics } from './metrics.js';
import { VERSION } from './version.js';
import { recordingBundleAddress } from './bundle-address.js';
import { addressFileAnswer } from './bootstrap.js';
import { sandboxService } from '../api/sandbox.js';
import { SandboxService } from '../sandbox/service.js';
import { PodMembers } from '../sandbox/members.js';
import { CRI_SANDBOX_ID } from '../routing/annotations.js';
import { sandboxPlacer } from './sandbox-placement.js';
import { endPodTasks } from './pod-tasks.js';
import { cgroupOf, collectMetrics } from '../cgroups/index.js';

export interface Daemon {
  service: TaskService;
  /** Pods containerd hands us whole (`sandboxer = "shim"`), and which tasks are theirs. */
  sandboxes: SandboxService;
  members: PodMembers;
  reaper: Reaper;
  events: ForwardPublisher;
  callLog: CallLog;
  metrics: DaemonMetrics;
  backends: { local: LocalBackend; delegates: DelegateBackend };
}

export interface WiringInput {
  args: ShimArgs;
  cfg: Config;
  log: Logger;
  daemonLog: DaemonLog;
  /** The daemon's own directory (its card, its log, its delegates' working dirs). */
  stateDir: string;
  onIdle(idle: boolean): void;
  onShutdown(now: boolean): void;
}

export function wireDaemon(w: WiringInput): Daemon {
  const { args, cfg, log } = w;
  const reaper = new Reaper({ onError: (err) => log.warn({ err: describe(err) }, 'reaper') });
  const events = new ForwardPublisher({
    ttrpcAddress: process.env.TTRPC_ADDRESS || `${args.address}.ttrpc`,
    namespace: args.namespace,
    logger: log,
  });
  const local = new LocalBackend({ namespace: args.namespace, events, reaper, log, logs: w.daemonLog, monitor: new CgroupMonitor(log) });
  const delegates = new DelegateBackend({ namespace: args.namespace, events, log, workRoot: path.join(w.stateDir, 'delegates') });
  const callLog = new CallLog();
  const metrics = new DaemonMetrics(() => [local, delegates].flatMap((b) => b.summaries()).map((t) => ({ runtime: t.runtime, state: t.status })));
  callLog.onCall(metrics.onCall);
  const choice = new BackendChoice(
    cfg,
    {
      namespace: args.namespace,
      address: args.address,
      publishBinary: args.publishBinary,
      debug: args.debug,
      env: process.env,
      timeoutMs: cfg.runtimeTimeoutMs,
    },
    log,
    { decided: (d) => metrics.decided(d.runtime, d.rule), refused: (rule, kind) => metrics.refused(rule, kind) },
    {
      spawn: (file, argv, o) => spawnFast(file, argv, o, (pid) => reaper.watch(pid)),
      collect: (pid) => {
        try {
          reaper.collect(pid);
        } catch (err) {
          log.warn({ err: describe(err), pid }, 'reaper: cannot watch an orphan; the sweep will collect it');
        }
      },
    },
  );
  // The daemon is idle only when it serves neither a task nor a pod.
  const busy = { tasks: false, pods: false };
  const idle = (what: keyof typeof busy) => (isIdle: boolean) => {
    busy[what] = !isIdle;
    w.onIdle(!busy.tasks && !busy.pods);
  };
  const members = new PodMembers();
  const place = (task: NewTask): Placement => {
    const c = choice.choose({ id: task.id, bundle: task.bundle, annotations: task.spec.annotations, options: task.request.options });
    const pod = task.spec.annotations[CRI_SANDBOX_ID];
    if (pod && sandboxes.has(pod)) members.add(pod, task.id);
    switch (c.kind) {
      case 'oci':
        return { backend: local, create: () => local.create(task, c.driver, c.decision) };
      case 'shim':
        return { backend: delegates, create: (ctx) => delegates.create(task, c.command, c.decision, ctx) };
    }
  };
  const service = new TaskService({
    version: VERSION,
    place,
    forget: (id) => {
      members.remove(id);
      choice.forget(id);
    },
    onIdle: idle('tasks'),
    onShutdown: (now) => {
      if (sandboxes.size === 0) w.onShutdown(now);
    },
  });
  const sandboxes: SandboxService = new SandboxService({
    place: sandboxPlacer(choice, cfg, args.namespace, reaper, log),
    endTasks: (id) => endPodTasks(service, members.of(id), log),
    forget: (id) => choice.forget(id),
    onIdle: idle('pods'),
    metrics: (pid) => collectMetrics(cgroupOf(pid)),
  });
  return { service, sandboxes, members, reaper, events, callLog, metrics, backends: { local, delegates } };
}

export interface Listener {
  close(): Promise<void>;
}

/**
 * Serves the Task service (v2 and v3 names), the Sandbox service and the debug service, on the protocol the
 * config names. grpc-js is loaded only when asked for: it costs every daemon start.
 */
export async function listen(
  d: Daemon,
  cfg: Config,
  at: { socket: string; listenFd?: number },
  o: { log: Logger; onConnection(): void },
): Promise<Listener> {
  const info = () => ({ tasks: d.service.size + d.sandboxes.size, version: VERSION });
  const served = recordingBundleAddress(d.service, addressFileAnswer(cfg.protocol, at.socket), (err) =>
    o.log.warn({ err: describe(err) }, 'cannot write the bundle address'),
  );
  if (cfg.protocol === 'grpc') {
    const { GrpcServer } = await import('../transport/grpc/server.js');
    const g = new GrpcServer();
    g.addService(taskServiceV3, served);
    g.addService(taskServiceV2, served);
    g.addService(sandboxService, d.sandboxes);
    g.addService(debugService, d.callLog.service(info));
    g.observe(d.callLog.observe);
    await g.listen(at.socket);
    return g;
  }
  const t = new TtrpcServer({
    onProtocolError: (err) => o.log.warn({ err: err.message }, 'dropped a connection'),
    onConnection: o.onConnection,
  });
  t.addService(taskServiceV2, served);
  t.addService(taskServiceV3, served);
  t.addService(sandboxService, d.sandboxes);
  t.addService(debugService, d.callLog.service(info));
  t.observe(d.callLog.observe);
  await t.listen(at.listenFd !== undefined ? { fd: at.listenFd } : at.socket);
  return t;
}

/**
 * Create for a task the local backend runs through a RuntimeDriver, as a list of steps each
 * with its undo: mount the rootfs, write the task record, open the stdio, create the
 * container, wire its OOM watch. A failed step undoes the ones before it, in reverse.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RuntimeDriver } from '../backends/types.js';
import { describe, failedPrecondition, invalidArgument } from '../errors/index.js';
import type { EventSink } from '../events/sink.js';
import { taskOOM } from '../events/topics.js';
import { openStdio } from '../io/process-stdio.js';
import { parseStdio } from '../io/uri.js';
import { mount, unmountAll, unmountAllOffLoop } from '../sys/mount.js';
import type { ContainerMonitor, OomWatch } from './monitor.js';
import { decodeCreateOptions } from './payloads.js';
import type { NewTask } from './placement.js';
import type { Exit, StdioPaths } from './process.js';
import { writeTaskRecord } from '../backends/record.js';
import { Task } from './task.js';

export interface LocalTaskDeps {
  namespace: string;
  events: EventSink;
  log: Logger;
  /** Resolves when pid exits (the daemon's reaper). */
  watch(pid: number): Promise<Exit>;
  monitor?: ContainerMonitor;
}

export function stdioPathsOf(req: { stdin?: string | null; stdout?: string | null; stderr?: string | null; terminal?: boolean | null }): StdioPaths {
  return { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: !!req.terminal };
}

export async function createLocalTask(deps: LocalTaskDeps, task: NewTask, driver: RuntimeDriver, decision: unknown): Promise<Task> {
  const { id, bundle, request: req } = task;
  // Everything the request says is checked before anything is set up.
  const options = decodeCreateOptions(req.options);
  const stdioPaths = stdioPathsOf(req);
  const stdioSpec = parseStdio(stdioPaths);
  const checkpoint = req.checkpoint || options.criuImagePath || '';
  if (checkpoint && !checkpoint.startsWith('/')) throw invalidArgument(`checkpoint: ${JSON.stringify(checkpoint)} must be an absolute path`);
  const log = deps.log.child({ task: id });
  const undo = new UndoStack(log);
  try {
    const rootfs = mountRootfs(id, bundle, req.rootfs ?? [], undo);
    writeTaskRecord(bundle, { id, namespace: deps.namespace, runtime: driver.name, cleanup: driver.cleanupArgv(id), decision });
    const stdio = await openStdio(stdioSpec, {
      containerId: id,
      namespace: deps.namespace,
      logger: log,
      scratchDir: bundle,
      ioUid: options.ioUid,
      ioGid: options.ioGid,
    });
    undo.push(() => stdio.close());
    const pidFile = path.join(bundle, 'init.pid');
    let pid = 0;
    if (!checkpoint) {
      pid = await driver.create({
        id,
        bundle,
        stdio: stdio.runtimeStdio,
        pidFile,
        consoleSocket: stdio.consoleSocket,
        annotations: task.spec.annotations,
        noPivot: options.noPivotRoot,
        noNewKeyring: options.noNewKeyring,
      });
      undo.push(() => driver.delete(id, true).catch(() => undefined));
      await stdio.afterRuntime();
    }
    const oom = new OomReporter(deps, id, log);
    return new Task({
      id,
      bundle,
      pid,
      driver,
      stdio,
      stdioPaths,
      events: deps.events,
      log,
      watch: deps.watch,
      sharedPidNamespace: task.spec.sharedPidNamespace,
      restore: checkpoint
        ? { pidFile, checkpoint: { imagePath: checkpoint, workPath: options.criuWorkPath ?? path.join(bundle, 'criu-work') } }
        : undefined,
      onPid: (p) => oom.watch(p),
      beforeExitEvent: async () => oom.beforeExit(),
      cleanup: async () => {
        oom.close();
        if (rootfs) await unmountAllOffLoop(rootfs);
      },
    });
  } catch (err) {
    log.warn({ err: describe(err) }, 'create failed');
    await undo.run();
    throw err;
  }
}

interface RootfsMount {
  type?: string | null;
  source?: string | null;
  options?: string[] | null;
}

/** Mounts the request's rootfs under the bundle; undefined when the bundle brings its own. */
function mountRootfs(id: string, bundle: string, mounts: RootfsMount[], undo: UndoStack): string | undefined {
  if (mounts.length === 0) return undefined;
  const rootfs = path.join(bundle, 'rootfs');
  fs.mkdirSync(rootfs, { recursive: true });
  undo.push(() => unmountAll(rootfs));
  for (const m of mounts) {
    try {
      mount({ type: m.type ?? '', source: m.source ?? '', options: m.options ?? [] }, rootfs);
    } catch (err) {
      throw failedPrecondition(`mount rootfs for ${id}: ${(err as Error).message}`, err);
    }
  }
  return rootfs;
}

/** Undo steps of a Create, run in reverse when a later step fails; a failing undo is logged, not thrown. */
class UndoStack {
  private readonly steps: (() => Promise<void> | void)[] = [];
  constructor(private readonly log: Logger) {}
  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err: describe(err) }, 'create: cleanup step failed');
      }
    }
  }
}

/** The container's OOM kills as /tasks/oom events, each before the exit it causes. */
class OomReporter {
  private oom: OomWatch | undefined;
  constructor(private readonly deps: LocalTaskDeps, private readonly id: string, private readonly log: Logger) {}

  private publish(): void {
    this.deps.events.publish(taskOOM({ containerId: this.id }));
  }

  watch(pid: number): void {
    try {
      this.oom = this.deps.monitor?.watchOom({ id: this.id, pid }, () => this.publish());
    } catch (err) {
      this.log.warn({ err: describe(err) }, 'cannot watch for OOM kills');
    }
  }

  /** The OOM notice may still be in flight when the exit is reaped: it goes out first. */
  beforeExit(): void {
    if (this.oom?.pending()) this.publish();
    this.oom?.close();
  }

  close(): void {
    this.oom?.close();
  }
}

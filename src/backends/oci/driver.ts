import fs from 'node:fs';
import path from 'node:path';
import { randomHex } from '../../sys/random.js';
import { failedPrecondition, internal, notFound } from '../../errors/index.js';
import type { CheckpointSpec, CreateSpec, DriverCapabilities, ExecSpec, RestoreSpec, RuntimeDriver } from '../types.js';
import {
  checkpointArgs, createArgs, deleteArgs, execArgs, killArgs, pauseArgs, psArgs, restoreArgs, resumeArgs, startArgs, updateArgs,
  type GlobalOptions,
} from './args.js';
import { adaptSpecVersion, flavourCapabilities, flavourGlobalArgs, launch, parseWaitOutput, stdioAtStart, type Flavour, type Launch } from './flavour.js';
import { runRuntime, RuntimeCommandError, type FastSpawn } from './runner.js';
import { RunscSandbox } from './runsc-sandbox.js';
import { runscCheckpointArgs, runscRestoreArgs } from './runsc.js';
import { dupCloexec } from '../../sys/fds.js';

export interface OciDriverOptions {
  name: string;
  binary: string;
  /** Base of --root; the namespace is appended so namespaces never see each other's containers. */
  root: string;
  namespace: string;
  timeoutMs: number;
  systemdCgroup?: boolean;
  extraArgs?: readonly string[];
  /** Default runc. */
  flavour?: Flavour;
  /** The v2 mount of a hybrid cgroup host with controllers on it (crun must not see it). */
  hybridV2Mount?: string;
  /** What the daemon's reaper does for runtime calls and the processes they leave. */
  children?: DaemonChildren;
}

export interface DaemonChildren {
  /** Runtime calls without forking the daemon (the reaper collects them). */
  spawn: FastSpawn;
  /**
   * Reap pid the moment it ends, not at the next sweep: an orphan somebody polls for.
   * `runsc delete` waits, with kill(pid, 0), for a gofer we inherited; its zombie answers.
   */
  collect(pid: number): void;
}

/** The OCI runtime CLI driver: runc and anything that speaks its command line. */
export class OciDriver implements RuntimeDriver {
  readonly name: string;
  readonly flavour: Flavour;
  readonly capabilities: DriverCapabilities;
  private readonly launch: Launch;
  /** Bundle of each container we know: its runtime log and scratch files live there. */
  private readonly bundles = new Map<string, string>();
  /** Our duplicates of a container's stdio, kept from create to start when the flavour takes them there. */
  private readonly pendingStdio = new Map<string, [number, number, number]>();
  /** runsc's differences, when the flavour is runsc. */
  private readonly runsc: RunscSandbox | undefined;

  constructor(private readonly o: OciDriverOptions) {
    this.name = o.name;
    this.flavour = o.flavour ?? 'runc';
    this.capabilities = flavourCapabilities(this.flavour);
    this.launch = launch(this.flavour, o.binary, o.hybridV2Mount);
    this.runsc =
      this.flavour === 'runsc' ? new RunscSandbox({ name: o.name, root: this.root, flags: o.extraArgs ?? [], run: (id, args) => this.run(id, args), collect: o.children?.collect }) : undefined;
  }

  cleanupArgv(id: string): string[] {
    const globals = flavourGlobalArgs(this.flavour, { root: this.root, systemdCgroup: this.o.systemdCgroup, extra: this.o.extraArgs });
    return [this.launch.file, ...this.launch.prefix, ...globals, ...deleteArgs(id, true)];
  }

  private get root(): string {
    return path.join(this.o.root, this.o.namespace);
  }

  private logFile(id: string): string | undefined {
    const bundle = this.bundles.get(id);
    return bundle ? path.join(bundle, 'log.json') : undefined;
  }

  private global(id: string): GlobalOptions {
    return { root: this.root, log: this.logFile(id), systemdCgroup: this.o.systemdCgroup, extra: this.o.extraArgs };
  }

  /** `timed` false only for a call that lasts as long as the container (`wait`). */
  private run(id: string, args: string[], stdio?: CreateSpec['stdio'], timed = true) {
    return runRuntime(this.launch.file, [...this.launch.prefix, ...flavourGlobalArgs(this.flavour, this.global(id)), ...args], {
      timeoutMs: timed ? this.o.timeoutMs : undefined,
      logFile: this.logFile(id),
      stdio,
      command: args[0]!,
      spawn: this.o.children?.spawn,
    });
  }

  /** A scratch file in the container's bundle, removed after `use` whatever happens. */
  private async withScratchFile<T>(id: string, stem: string, content: string, use: (file: string) => Promise<T>): Promise<T> {
    const dir = this.bundles.get(id);
    if (!dir) throw failedPrecondition(`${this.name}: container ${id} is not known to this daemon`);
    const file = path.join(dir, `.${stem}-${randomHex(4)}.json`);
    fs.writeFileSync(file, content, { mode: 0o600 });
    try {
      return await use(file);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  private readPid(file: string, what: string): number {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw internal(`${this.name} ${what}: no pid file ${file}`, err);
    }
    const pid = Number.parseInt(text.trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) throw failedPrecondition(`${this.name} ${what}: bad pid file ${file}`);
    return pid;
  }

  async create(spec: CreateSpec): Promise<number> {
    await this.runsc?.beforeCreate(spec.id, spec.bundle, spec.annotations ?? {});
    this.bundles.set(spec.id, spec.bundle);
    adaptSpecVersion(this.flavour, spec.bundle);
    let stdio: CreateSpec['stdio'] | undefined = spec.stdio;
    if (stdioAtStart(this.flavour, spec.annotations ?? {})) {
      // Ours to hand over at start: the caller closes its copies once create returns.
      this.pendingStdio.set(spec.id, spec.stdio.map((fd) => dupCloexec(fd)) as [number, number, number]);
      stdio = undefined;
    }
    try {
      const args = createArgs({ id: spec.id, bundle: spec.bundle, pidFile: spec.pidFile, consoleSocket: spec.consoleSocket, noPivot: spec.noPivot, noNewKeyring: spec.noNewKeyring });
      await this.run(spec.id, args, stdio);
    } catch (err) {
      this.dropPendingStdio(spec.id);
      throw err;
    }
    const pid = this.readPid(spec.pidFile, `create ${spec.id}`);
    this.runsc?.created(spec.id, pid);
    return pid;
  }

  private dropPendingStdio(id: string): void {
    for (const fd of this.pendingStdio.get(id) ?? []) fs.closeSync(fd);
    this.pendingStdio.delete(id);
  }

  /**
   * The exit status from `runsc wait`, which knows it when the host pid does not. It lasts
   * as long as the container: the runtime call timeout would end it early, and the
   * fallback (the sandbox's pid) holds a pod container's exit until the whole pod goes.
   */
  async wait(id: string): Promise<number> {
    const ask = async () => parseWaitOutput(await this.run(id, ['wait', id], undefined, false));
    return this.runsc ? this.runsc.wait(id, ask) : ask();
  }

  async restore(spec: RestoreSpec): Promise<number> {
    this.bundles.set(spec.id, spec.bundle);
    const args = this.runsc
      ? runscRestoreArgs({ ...spec.checkpoint, id: spec.id, bundle: spec.bundle, pidFile: spec.pidFile, consoleSocket: spec.consoleSocket })
      : restoreArgs({ ...spec.checkpoint, id: spec.id, bundle: spec.bundle, pidFile: spec.pidFile, consoleSocket: spec.consoleSocket });
    try {
      await this.run(spec.id, args, spec.stdio);
    } catch (err) {
      throw withCriuLog(err, spec.checkpoint.workPath, 'restore.log');
    }
    this.runsc?.running(spec.id);
    return this.readPid(spec.pidFile, `restore ${spec.id}`);
  }

  async start(id: string): Promise<void> {
    try {
      await this.run(id, startArgs(id), this.pendingStdio.get(id));
      this.runsc?.running(id);
    } catch (err) {
      // A runsc container whose start failed stays "created" with its sandbox running, and
      // can never start: it goes now, so that nothing outlives the failure.
      if (this.runsc) await this.destroy(id).catch(() => undefined);
      throw err;
    } finally {
      this.dropPendingStdio(id);
    }
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    const kill = async () => void (await this.run(id, killArgs(id, signal, all)));
    if (this.runsc) return this.runsc.kill(id, signal, kill, () => this.destroy(id));
    await kill();
  }

  /** runsc: `delete --force`, and its sandbox's processes gone. */
  private destroy(id: string): Promise<void> {
    return this.runsc!.destroy(id, this.bundles.get(id), async () => void (await this.run(id, deleteArgs(id, true))));
  }

  /** As runc-v2 does for execs: kill(2) on the host pid, no runtime call. */
  async killExec(id: string, pid: number, signal: number): Promise<void> {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw notFound(`${this.name}: exec pid ${pid} of ${id} is gone`, err);
      throw err;
    }
  }

  async delete(id: string, force: boolean): Promise<void> {
    try {
      if (this.runsc && force) await this.destroy(id);
      else await this.run(id, deleteArgs(id, force));
    } finally {
      this.dropPendingStdio(id);
      if (force) {
        this.bundles.delete(id);
        this.runsc?.forget(id);
      }
    }
  }

  async ps(id: string): Promise<number[]> {
    const out = await this.run(id, psArgs(id));
    const pids = JSON.parse(out || '[]') as unknown;
    return Array.isArray(pids) ? pids.filter((p): p is number => typeof p === 'number') : [];
  }

  async exec(spec: ExecSpec): Promise<number> {
    const bundle = this.bundles.get(spec.id);
    if (!bundle) throw failedPrecondition(`${this.name}: container ${spec.id} is not known to this daemon`);
    const pidFile = path.join(bundle, `.exec-${spec.execId}.pid`);
    fs.rmSync(pidFile, { force: true });
    try {
      return await this.withScratchFile(spec.id, `exec-${spec.execId}`, JSON.stringify(spec.process), async (processFile) => {
        await this.run(spec.id, execArgs({ id: spec.id, processFile, pidFile, consoleSocket: spec.consoleSocket }), spec.stdio);
        return this.readPid(pidFile, `exec ${spec.id}/${spec.execId}`);
      });
    } finally {
      fs.rmSync(pidFile, { force: true });
    }
  }

  async pause(id: string): Promise<void> {
    await this.run(id, pauseArgs(id));
  }

  async resume(id: string): Promise<void> {
    await this.run(id, resumeArgs(id));
  }

  async update(id: string, resources: unknown): Promise<void> {
    if (this.runsc) return this.runsc.update(id, resources);
    await this.withScratchFile(id, 'resources', JSON.stringify(resources), (file) => this.run(id, updateArgs(id, file)));
  }

  async checkpoint(id: string, spec: CheckpointSpec): Promise<void> {
    if (this.runsc) return this.runsc.checkpoint(() => this.run(id, runscCheckpointArgs(id, spec)));
    try {
      await this.run(id, checkpointArgs(id, spec));
    } catch (err) {
      throw withCriuLog(err, spec.workPath, 'dump.log');
    }
  }
}

/**
 * runc reports only "criu failed: type DUMP errno 0"; CRIU's own log in the work directory
 * says why. Its first error lines go into the message an operator sees.
 */
function withCriuLog(err: unknown, workPath: string | undefined, logName: string): unknown {
  if (!(err instanceof RuntimeCommandError) || !workPath) return err;
  let text: string;
  try {
    text = fs.readFileSync(path.join(workPath, logName), 'utf8');
  } catch {
    return err;
  }
  // "exited, status=1" lines are CRIU's helpers failing; the cause is in the lines after.
  const errors = text.split('\n').filter((l) => l.includes('Error (') && !/exited, status=\d+/.test(l)).slice(0, 2);
  if (errors.length === 0) return err;
  const why = errors.map((l) => l.replace(/^\([\d.\s]+\)\s*/, '').trim()).join('; ');
  return new RuntimeCommandError(err.kind, `${err.message} (${path.join(workPath, logName)}: ${why})`, err.argv, err.exitCode, err.stderr, { cause: err });
}

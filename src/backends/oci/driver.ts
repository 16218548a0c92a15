import fs from 'node:fs';
import path from 'node:path';
import { failedPrecondition } from '../../errors/index.js';
import type { CreateSpec, RuntimeDriver } from '../types.js';
import { createArgs, deleteArgs, globalArgs, killArgs, psArgs, startArgs, type GlobalOptions } from './args.js';
import { runRuntime } from './runner.js';

export interface OciDriverOptions {
  name: string;
  binary: string;
  /** Base of --root; the namespace is appended so namespaces never see each other's containers. */
  root: string;
  namespace: string;
  timeoutMs: number;
  systemdCgroup?: boolean;
  extraArgs?: readonly string[];
}

/** The OCI runtime CLI driver: runc and anything that speaks its command line. */
export class OciDriver implements RuntimeDriver {
  readonly name: string;
  readonly binary: string;
  private readonly logs = new Map<string, string>();

  constructor(private readonly o: OciDriverOptions) {
    this.name = o.name;
    this.binary = o.binary;
  }

  get root(): string {
    return path.join(this.o.root, this.o.namespace);
  }

  private global(id: string): GlobalOptions {
    return { root: this.root, log: this.logs.get(id), systemdCgroup: this.o.systemdCgroup, extra: this.o.extraArgs };
  }

  private run(id: string, args: string[], stdio?: CreateSpec['stdio']) {
    return runRuntime(this.o.binary, [...globalArgs(this.global(id)), ...args], {
      timeoutMs: this.o.timeoutMs,
      logFile: this.logs.get(id),
      stdio,
    });
  }

  async create(spec: CreateSpec): Promise<number> {
    this.logs.set(spec.id, path.join(spec.bundle, 'log.json'));
    await this.run(spec.id, createArgs({ id: spec.id, bundle: spec.bundle, pidFile: spec.pidFile, consoleSocket: spec.consoleSocket }), spec.stdio);
    const pid = Number.parseInt(fs.readFileSync(spec.pidFile, 'utf8').trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) throw failedPrecondition(`${this.name} create ${spec.id}: bad pid file ${spec.pidFile}`);
    return pid;
  }

  async start(id: string): Promise<void> {
    await this.run(id, startArgs(id));
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.run(id, killArgs(id, signal, all));
  }

  async delete(id: string, force: boolean): Promise<void> {
    try {
      await this.run(id, deleteArgs(id, force));
    } finally {
      if (force) this.logs.delete(id);
    }
  }

  async ps(id: string): Promise<number[]> {
    const out = await this.run(id, psArgs(id));
    const pids = JSON.parse(out || '[]') as unknown;
    return Array.isArray(pids) ? pids.filter((p): p is number => typeof p === 'number') : [];
  }

  /** Remembers where an adopted task's runtime log is (after a daemon restart). */
  adopt(id: string, bundle: string): void {
    this.logs.set(id, path.join(bundle, 'log.json'));
  }
}

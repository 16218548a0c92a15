/**
 * The one home of the choice a new task's backend is: the router decides the runtime under
 * the node's policy, and the runtime's type says which plug serves it, an OCI driver run
 * by the local backend or another shim v2 the delegate backend forwards to. Every
 * decision is recorded and logged; every refusal is counted under its rule.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { ShimRuntimeConfig } from '../config/types.js';
import type { DelegateCommand } from '../backends/shim/launch.js';
import type { RuntimeDriver } from '../backends/types.js';
import { ErrorKind, ShimError } from '../errors/index.js';
import { route } from '../routing/router.js';
import { RoutingRefusal, formatDecision, type Decision } from '../routing/decision.js';
import { availableOnPath } from '../routing/find-on-path.js';
import { DecisionStore } from '../routing/store.js';
import { Drivers } from './drivers.js';
import type { DaemonChildren } from '../backends/oci/driver.js';
import { decodeCreateOptions, runtimeOverrides, type AnyLike } from '../task/runc-options.js';

export type Choice =
  | { kind: 'oci'; driver: RuntimeDriver; decision: Decision }
  | { kind: 'shim'; command: DelegateCommand; decision: Decision };

/** What a delegate shim is launched with besides the task: containerd's own flags to us. */
export interface DelegateContext {
  namespace: string;
  address: string;
  publishBinary: string;
  debug: boolean;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

export interface ChoiceHooks {
  decided?(d: Decision): void;
  refused?(rule: string, kind: string): void;
}

export class BackendChoice {
  private readonly available = availableOnPath();
  private readonly drivers: Drivers;
  readonly decisions: DecisionStore;

  constructor(
    private readonly cfg: Config,
    private readonly delegate: DelegateContext,
    private readonly log: Logger,
    private readonly hooks: ChoiceHooks = {},
    /** The daemon's reaper: fork-free runtime calls, and orphans collected at once. */
    children?: DaemonChildren,
  ) {
    this.decisions = new DecisionStore(cfg.stateDir, delegate.namespace);
    this.drivers = new Drivers(cfg, delegate.namespace, log, children);
  }

  /** Routes a new task (throws the router's refusals), records and logs the decision. */
  choose(task: { id: string; bundle: string; annotations: Record<string, string>; options?: AnyLike | null }): Choice {
    let decision: Decision;
    try {
      decision = route(
        { annotations: task.annotations, containerdNamespace: this.delegate.namespace, sandboxDecision: (sid) => this.decisions.get(sid) },
        this.cfg,
        this.available,
      );
    } catch (err) {
      const rule = err instanceof RoutingRefusal ? err.rule : '';
      this.hooks.refused?.(rule, err instanceof ShimError ? err.kind : ErrorKind.Internal);
      this.log.warn({ task: task.id, rule, err: (err as Error).message }, 'routing refused');
      throw err;
    }
    this.hooks.decided?.(decision);
    const rt = this.cfg.runtimes[decision.runtime]!;
    // A delegate shim gets its own options; an OCI runtime runs with the task's runc options.
    const choice: Choice =
      rt.type === 'shim'
        ? { kind: 'shim', command: this.delegateCommand(rt, task), decision }
        : { kind: 'oci', driver: this.drivers.driver(decision.runtime, rt, runtimeOverrides(decodeCreateOptions(task.options))), decision };
    this.decisions.save(task.id, decision);
    this.log.info({ task: task.id, runtime: decision.runtime, rule: decision.rule, inputs: decision.inputs }, formatDecision(decision));
    return choice;
  }

  forget(id: string): void {
    this.decisions.remove(id);
  }

  private delegateCommand(rt: ShimRuntimeConfig, task: { id: string; bundle: string }): DelegateCommand {
    return { ...this.delegate, binary: rt.binary, id: task.id, bundle: task.bundle, options: rt.options };
  }
}

/**
 * The daemon's runtimes: one driver per configured runtime, made when first needed, and
 * the routing of each new task to one of them under the node's policy.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { ShimRuntimeConfig } from '../config/types.js';
import { runtimeFlags } from '../config/runtimes.js';
import type { DelegateCommand } from '../backends/shim/launch.js';
import type { RuntimeDriver } from '../backends/types.js';
import { OciDriver } from '../backends/oci/driver.js';
import { unimplemented } from '../errors/index.js';
import { route } from '../routing/router.js';
import { formatDecision, type Decision } from '../routing/decision.js';
import { availableOnPath } from '../routing/find-on-path.js';
import { DecisionStore } from '../routing/store.js';
import { cgroupMounts, detectCgroupMode } from '../cgroups/index.js';

export class Runtimes {
  private readonly drivers = new Map<string, RuntimeDriver>();
  private readonly available = availableOnPath();
  readonly decisions: DecisionStore;
  private hybridV2: string | undefined | null = null;

  constructor(
    private readonly cfg: Config,
    private readonly namespace: string,
    private readonly log: Logger,
    private readonly hooks: { decided?(d: Decision): void; refused?(rule: string, kind: string): void } = {},
    /** How to launch a type = "shim" runtime for a task; without it such runtimes are refused. */
    private readonly shim?: (rt: ShimRuntimeConfig) => (t: { id: string; bundle: string }) => DelegateCommand,
  ) {
    this.decisions = new DecisionStore(cfg.stateDir, namespace);
  }

  /** Routes a new task (throws the router's InvalidArgument/PermissionDenied/FailedPrecondition), records and logs the decision. */
  driverFor(task: { id: string; bundle: string; annotations: Record<string, string> }): {
    driver?: RuntimeDriver;
    delegate?: (t: { id: string; bundle: string }) => DelegateCommand;
    decision: Decision;
  } {
    let decision: Decision;
    try {
      decision = route(
        { annotations: task.annotations, containerdNamespace: this.namespace, sandboxDecision: (sid) => this.decisions.get(sid) },
        this.cfg,
        this.available,
      );
    } catch (err) {
      const e = err as { kind?: string; message?: string };
      const rule = /rule "?([^"\s]+)"?/.exec(e.message ?? '')?.[1] ?? '';
      this.hooks.refused?.(rule, e.kind ?? 'internal');
      this.log.warn({ task: task.id, err: e.message }, 'routing refused');
      throw err;
    }
    this.hooks.decided?.(decision);
    const rt = this.cfg.runtimes[decision.runtime];
    const delegate = rt?.type === 'shim' ? this.shim?.(rt) : undefined;
    const driver = delegate ? undefined : this.driver(decision.runtime);
    this.decisions.save(task.id, decision);
    this.log.info({ task: task.id, runtime: decision.runtime, rule: decision.rule, inputs: decision.inputs }, formatDecision(decision));
    return { driver, delegate, decision };
  }

  forget(id: string): void {
    this.decisions.remove(id);
  }

  driver(name: string): RuntimeDriver {
    let d = this.drivers.get(name);
    if (d) return d;
    const rt = this.cfg.runtimes[name];
    if (!rt) throw unimplemented(`runtime ${name} is not configured`);
    if (rt.type === 'shim') throw unimplemented(`runtime ${name}: type "shim" needs a delegate launcher`);
    d = new OciDriver({
      name,
      binary: rt.binary,
      root: rt.root,
      namespace: this.namespace,
      timeoutMs: this.cfg.runtimeTimeoutMs,
      flavour: rt.flavour,
      extraArgs: runtimeFlags(rt),
      hybridV2Mount: rt.flavour === 'crun' ? this.hybridV2Mount() : undefined,
    });
    this.drivers.set(name, d);
    return d;
  }

  /** The v2 mount of a hybrid host when it carries controllers (crun 1.8 refuses those). */
  private hybridV2Mount(): string | undefined {
    if (this.hybridV2 !== null) return this.hybridV2;
    this.hybridV2 = undefined;
    try {
      if (detectCgroupMode() === 'hybrid') {
        const v2 = cgroupMounts().find((m) => m.version === 2);
        const controllers = v2 ? fs.readFileSync(path.join(v2.mountPoint, 'cgroup.controllers'), 'utf8').trim() : '';
        if (v2 && controllers) this.hybridV2 = v2.mountPoint;
      }
    } catch (err) {
      this.log.warn({ err }, 'cannot read the cgroup layout');
    }
    return this.hybridV2;
  }
}

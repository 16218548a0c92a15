/**
 * The router: a task's annotations and the node's config in, one runtime and the reason
 * out. Pure apart from the `available` predicate and the sandbox lookup it is handed.
 * Never a silent downgrade: whatever cannot be honoured exactly is refused.
 */
import { ErrorKind } from '../errors/index.js';
import type { Config, RuntimeConfig } from '../config/config.js';
import { taskSubject, type TaskSubject } from './annotations.js';
import { RoutingRefusal, type Decision, type DecisionInputs } from './decision.js';
import { governingRule, refusal } from './policy.js';

export interface RouteInput {
  /** The OCI spec's annotations. */
  annotations: Readonly<Record<string, string>>;
  /** The containerd namespace of the task (the daemon's -namespace). */
  containerdNamespace: string;
  /** The decision recorded for a sandbox this daemon created, if any. */
  sandboxDecision?: (sandboxId: string) => Decision | undefined;
  /** The decision's time; now by default. */
  now?: Date;
}

/** Whether a runtime's binary is there; findOnPath's availableOnPath() on a node. */
export type Availability = (rt: RuntimeConfig) => boolean;

/**
 * Picks the runtime of one task. Throws InvalidArgument for malformed CRI annotations, and
 * a RoutingRefusal carrying the governing rule: InvalidArgument for an unknown runtime name
 * (listing the known ones), PermissionDenied for a runtime the policy does not allow
 * (naming the rule), FailedPrecondition for a runtime whose binary is missing or a
 * container whose sandbox has no known decision.
 */
export function route(input: RouteInput, cfg: Config, available: Availability): Decision {
  const subject = taskSubject(input.annotations);
  const requested = Object.hasOwn(input.annotations, cfg.annotationKey) ? input.annotations[cfg.annotationKey] : undefined;
  const inputs: DecisionInputs = {
    annotationKey: cfg.annotationKey,
    containerdNamespace: input.containerdNamespace,
    containerType: subject.kind,
  };
  if (requested !== undefined) inputs.requested = requested;
  if (subject.k8sNamespace !== undefined) inputs.k8sNamespace = subject.k8sNamespace;
  if (subject.sandboxId !== undefined) inputs.sandboxId = subject.sandboxId;
  const at = (input.now ?? new Date()).toISOString();

  if (subject.kind === 'container') return inherit(subject.sandboxId!, input, inputs, at);

  const who = describeSubject(subject, input.containerdNamespace);
  const rule = governingRule({ k8sNamespace: subject.k8sNamespace, containerdNamespace: input.containerdNamespace }, cfg);
  let runtime: string;
  let why: string;
  if (requested !== undefined) {
    if (!Object.hasOwn(cfg.runtimes, requested)) {
      throw new RoutingRefusal(ErrorKind.InvalidArgument, rule.name, `annotation ${cfg.annotationKey}: unknown runtime "${requested}"; known runtimes: ${Object.keys(cfg.runtimes).sort().join(', ')}`);
    }
    runtime = requested;
    why = `${who} asked for "${runtime}" (annotation ${cfg.annotationKey}); ${rule.how}; it allows "${runtime}"`;
    if (rule.hardenOnly && runtime !== rule.default) why += ` (harden_only: not weaker than its default "${rule.default}")`;
  } else {
    runtime = rule.default;
    why = `${who} asked for no runtime (no ${cfg.annotationKey} annotation); ${rule.how}; its default is "${runtime}"`;
    if (!rule.ruleDefault) why += ' (the node\'s default_runtime)';
  }
  const refused = refusal(rule, runtime, cfg.policy);
  if (refused) throw new RoutingRefusal(ErrorKind.PermissionDenied, rule.name, `runtime "${runtime}" refused for ${who}: ${refused}`);
  const rt = cfg.runtimes[runtime]!;
  if (!available(rt)) {
    const where = rt.binary.startsWith('/') ? `${rt.binary} is missing or not executable` : `"${rt.binary}" was not found on PATH`;
    throw new RoutingRefusal(ErrorKind.FailedPrecondition, rule.name, `runtime "${runtime}" chosen for ${who} is not installed: ${where}`);
  }
  return { runtime, rule: rule.name, inherited: false, inputs, reason: why, at };
}

/** A CRI container runs where its sandbox runs: a gVisor pod's containers in that gVisor sandbox. */
function inherit(sandboxId: string, input: RouteInput, inputs: DecisionInputs, at: string): Decision {
  const sandbox = input.sandboxDecision?.(sandboxId);
  if (!sandbox) {
    throw new RoutingRefusal(ErrorKind.FailedPrecondition, '', `container of sandbox "${sandboxId}": no routing decision is known for that sandbox, so its runtime cannot be inherited; refusing rather than guessing`);
  }
  let reason = `a CRI container runs on its sandbox's runtime: sandbox "${sandboxId}" runs on "${sandbox.runtime}" (rule "${sandbox.rule}")`;
  if (inputs.requested !== undefined) {
    reason += inputs.requested === sandbox.runtime ? '; its own annotation agrees' : `; its own annotation asked for "${inputs.requested}" and is ignored`;
  }
  return { runtime: sandbox.runtime, rule: sandbox.rule, inherited: true, inputs, reason, at };
}

function describeSubject(s: TaskSubject, containerdNamespace: string): string {
  return s.kind === 'sandbox'
    ? `pod in Kubernetes namespace "${s.k8sNamespace}"`
    : `bare task in containerd namespace "${containerdNamespace}"`;
}

/**
 * The policy as the router applies it: which rule governs a task, and whether a runtime is
 * allowed under it. Pure: no I/O, no clock.
 */
import type { Config, Policy, PolicyRule } from '../config/config.js';
import { globMatch, isCatchAll } from '../config/glob.js';

/** The name decisions give the allow-all rule that applies when no rule matches. */
export const IMPLICIT_RULE = '(implicit *)';

/** A rule with its defaults filled in, and how it was found. */
export interface GoverningRule {
  name: string;
  /** Undefined: every runtime. */
  allow?: readonly string[];
  default: string;
  /** Whether the default came from the rule (else from default_runtime). */
  ruleDefault: boolean;
  hardenOnly: boolean;
  /** `file:line` of the rule, or a phrase for the implicit rule. */
  where: string;
  /** How the task came under it, in words. */
  how: string;
}

export interface PolicySubject {
  /** Set for pods (sandboxes); rules' `namespaces` are matched against it. */
  k8sNamespace?: string;
  /** For bare tasks; rules' `containerd_namespaces` are matched against it. */
  containerdNamespace: string;
}

/**
 * First match wins. A pod is matched by Kubernetes namespace. A bare task has none: it is
 * matched by containerd namespace against `containerd_namespaces`, and else falls to the
 * rule whose `namespaces` hold `*`, so a node that restricts unlisted namespaces restricts
 * bare tasks too. With no match at all, the implicit rule allows every runtime.
 */
export function governingRule(subject: PolicySubject, cfg: Config): GoverningRule {
  const { policy } = cfg;
  const ns = subject.k8sNamespace;
  let found: PolicyRule | undefined;
  let how: string;
  if (ns !== undefined) {
    found = policy.rules.find((r) => r.namespaces.some((p) => globMatch(p, ns)));
    how = found ? `Kubernetes namespace "${ns}" matches rule "${found.name}"` : `no rule matches Kubernetes namespace "${ns}"`;
  } else {
    const cns = subject.containerdNamespace;
    found = policy.rules.find((r) => r.containerdNamespaces.some((p) => globMatch(p, cns)));
    if (found) how = `containerd namespace "${cns}" matches rule "${found.name}"`;
    else {
      found = policy.rules.find((r) => r.namespaces.some(isCatchAll));
      how = found
        ? `no rule lists containerd namespace "${cns}", so the bare task falls to the "*" rule "${found.name}"`
        : `no rule lists containerd namespace "${cns}"`;
    }
  }
  if (!found) {
    return {
      name: IMPLICIT_RULE,
      default: cfg.defaultRuntime,
      ruleDefault: false,
      hardenOnly: policy.hardenOnly,
      where: 'implicit: no rule matched',
      how: `${how}, so the implicit "*" rule allows every runtime`,
    };
  }
  return {
    name: found.name,
    allow: found.allow,
    default: found.default ?? cfg.defaultRuntime,
    ruleDefault: found.default !== undefined,
    hardenOnly: found.hardenOnly ?? policy.hardenOnly,
    where: `${cfg.source}:${found.line}`,
    how: `${how} (${cfg.source}:${found.line})`,
  };
}

/** The position of a runtime's tier in the isolation order (0 weakest), if it has one. */
export function isolationRank(policy: Policy, runtime: string): number | undefined {
  const i = policy.isolation.findIndex((tier) => tier.includes(runtime));
  return i < 0 ? undefined : i;
}

/** Why the rule refuses `runtime`, in words; undefined when it allows it. */
export function refusal(rule: GoverningRule, runtime: string, policy: Policy): string | undefined {
  const named = `rule "${rule.name}" (${rule.where})`;
  if (rule.allow && !rule.allow.includes(runtime)) {
    return rule.allow.length ? `${named} allows only ${rule.allow.join(', ')}` : `${named} allows no runtime`;
  }
  if (rule.hardenOnly && runtime !== rule.default) {
    const r = isolationRank(policy, runtime);
    const d = isolationRank(policy, rule.default);
    // A default without a rank under harden_only is refused when the config is read.
    if (r === undefined) {
      return `"${runtime}" has no place in policy.isolation, so under harden_only it cannot be shown to be as strong as "${rule.default}", the default of ${named}`;
    }
    if (d !== undefined && r < d) {
      return `"${runtime}" is weaker than "${rule.default}", the default of ${named}, and harden_only allows only as strong or stronger`;
    }
  }
  return undefined;
}

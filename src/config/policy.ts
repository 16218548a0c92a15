/**
 * The `[policy]` table: the isolation order, harden_only, and the rules by namespace.
 * Everything a rule names is checked here, so the router never meets an unknown runtime in
 * the policy, a default outside its own allow list, or a rule that can never match.
 */
import type { Policy, PolicyRule, RuntimeConfig } from './types.js';
import { isTable, listNames, type Fields } from './fields.js';
import { CONTAINERD_PATTERN, K8S_PATTERN, isCatchAll } from './glob.js';
import type { KeyPath } from './toml-lines.js';

/** runc and crun are equally strong (host kernel, namespaces, seccomp); gVisor is stronger. */
export const DEFAULT_ISOLATION: readonly (readonly string[])[] = [['runc', 'crun'], ['runsc']];

const POLICY_KEYS = ['isolation', 'harden_only', 'rules'];
const RULE_KEYS = ['name', 'namespaces', 'containerd_namespaces', 'allow', 'default', 'harden_only'];
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function defaultPolicy(): Policy {
  return { isolation: DEFAULT_ISOLATION.map((tier) => [...tier]), hardenOnly: false, rules: [] };
}

export function parsePolicy(value: unknown, f: Fields, runtimes: Record<string, RuntimeConfig>, defaultRuntime: string): Policy {
  const policy = defaultPolicy();
  if (value === undefined) return policy;
  const at: KeyPath = ['policy'];
  const t = f.table(value, at);
  f.onlyKeys(t, POLICY_KEYS, at);
  const known = (name: string, path: KeyPath) => {
    if (!Object.hasOwn(runtimes, name)) throw f.bad(path, `unknown runtime "${name}"; known: ${listNames(Object.keys(runtimes))}`);
  };

  if (t.isolation !== undefined) policy.isolation = parseIsolation(t.isolation, f, [...at, 'isolation'], known);
  if (t.harden_only !== undefined) policy.hardenOnly = f.bool(t.harden_only, [...at, 'harden_only']);
  const ranked = new Set(policy.isolation.flat());

  if (t.rules !== undefined) {
    const rulesAt: KeyPath = [...at, 'rules'];
    if (!Array.isArray(t.rules)) throw f.bad(rulesAt, 'must be an array of tables ([[policy.rules]])');
    t.rules.forEach((raw, i) => {
      const rule = parseRule(raw, f, [...rulesAt, i], known, defaultRuntime);
      checkReachable(rule, policy.rules, f, [...rulesAt, i]);
      const hardenOnly = rule.hardenOnly ?? policy.hardenOnly;
      const def = rule.default ?? defaultRuntime;
      if (hardenOnly && rule.allow?.length !== 0 && !ranked.has(def)) {
        const what = rule.default ? `"${def}"` : `default_runtime "${def}", this rule's default,`;
        throw f.bad([...rulesAt, i, 'default'], `${what} has no place in policy.isolation, which harden_only compares against`);
      }
      policy.rules.push(rule);
    });
  }
  const hasCatchAll = policy.rules.some((r) => r.namespaces.some(isCatchAll));
  if (policy.hardenOnly && !hasCatchAll && !ranked.has(defaultRuntime)) {
    throw f.bad([...at, 'harden_only'], `default_runtime "${defaultRuntime}", the default of pods no rule matches, has no place in policy.isolation`);
  }
  return policy;
}

function parseIsolation(value: unknown, f: Fields, at: KeyPath, known: (name: string, path: KeyPath) => void): string[][] {
  if (!Array.isArray(value)) throw f.bad(at, 'must be an array of runtime names (or arrays of equally strong ones), weakest first');
  const tiers: string[][] = [];
  for (const entry of value) {
    const tier = typeof entry === 'string' ? [entry] : entry;
    if (!Array.isArray(tier) || !tier.every((n) => typeof n === 'string')) {
      throw f.bad(at, 'must be an array of runtime names (or arrays of equally strong ones), weakest first');
    }
    if (!tier.length) throw f.bad(at, 'an empty tier');
    for (const name of tier as string[]) known(name, at);
    tiers.push([...(tier as string[])]);
  }
  const seen = new Set<string>();
  for (const name of tiers.flat()) {
    if (seen.has(name)) throw f.bad(at, `duplicate isolation entry "${name}"`);
    seen.add(name);
  }
  return tiers;
}

function parseRule(raw: unknown, f: Fields, at: KeyPath, known: (name: string, path: KeyPath) => void, defaultRuntime: string): PolicyRule {
  if (!isTable(raw)) throw f.bad(at, 'must be a table');
  f.onlyKeys(raw, RULE_KEYS, at);
  const patterns = (key: string, re: RegExp, what: string): string[] => {
    if (raw[key] === undefined) return [];
    const list = f.strings(raw[key], [...at, key]);
    for (const p of list) if (!re.test(p)) throw f.bad([...at, key], `"${p}" is not ${what}`);
    f.unique(list, [...at, key], 'namespace');
    return [...list];
  };
  const namespaces = patterns('namespaces', K8S_PATTERN, 'a Kubernetes namespace or a glob of one (a-z, 0-9, -, *, ?)');
  const containerdNamespaces = patterns('containerd_namespaces', CONTAINERD_PATTERN, 'a containerd namespace or a glob of one (A-Z, a-z, 0-9, ., _, -, *, ?)');
  if (!namespaces.length && !containerdNamespaces.length) throw f.bad(at, 'needs namespaces (pods) or containerd_namespaces (bare tasks)');

  const rule: PolicyRule = {
    name: namespaces.length ? namespaces.join(',') : `containerd:${containerdNamespaces.join(',')}`,
    namespaces,
    containerdNamespaces,
    line: f.lineOf(at),
  };
  if (raw.name !== undefined) {
    rule.name = f.string(raw.name, [...at, 'name']);
    if (!RULE_NAME.test(rule.name)) throw f.bad([...at, 'name'], 'a rule name is letters, digits, ".", "_" and "-", starting with a letter or digit');
  }
  if (raw.allow !== undefined) {
    const allow = f.strings(raw.allow, [...at, 'allow']);
    for (const name of allow) known(name, [...at, 'allow']);
    f.unique(allow, [...at, 'allow'], 'runtime');
    rule.allow = [...allow];
  }
  if (raw.default !== undefined) {
    rule.default = f.nonEmptyString(raw.default, [...at, 'default']);
    known(rule.default, [...at, 'default']);
    if (rule.allow && !rule.allow.includes(rule.default)) throw f.bad([...at, 'default'], `"${rule.default}" is not in allow`);
  } else if (rule.allow?.length && !rule.allow.includes(defaultRuntime)) {
    throw f.bad([...at, 'default'], `required: default_runtime "${defaultRuntime}" is not in allow`);
  }
  if (raw.harden_only !== undefined) rule.hardenOnly = f.bool(raw.harden_only, [...at, 'harden_only']);
  return rule;
}

/** First match wins, so a pattern an earlier rule already lists, or after a `*` rule, is dead. */
function checkReachable(rule: PolicyRule, earlier: readonly PolicyRule[], f: Fields, at: KeyPath): void {
  const check = (key: 'namespaces' | 'containerdNamespaces', tomlKey: string) => {
    for (const p of rule[key]) {
      for (const prev of earlier) {
        const all = prev[key].find(isCatchAll);
        if (all) throw f.bad([...at, tomlKey], `"${p}" can never match: rule "${prev.name}" (line ${prev.line}) matches every namespace first`);
        if (prev[key].includes(p)) throw f.bad([...at, tomlKey], `"${p}" can never match: rule "${prev.name}" (line ${prev.line}) lists it first`);
      }
    }
  };
  check('namespaces', 'namespaces');
  check('containerdNamespaces', 'containerd_namespaces');
  for (const prev of earlier) {
    if (prev.name === rule.name) throw f.bad([...at, 'name'], `duplicate rule name "${rule.name}" (first at line ${prev.line})`);
  }
}

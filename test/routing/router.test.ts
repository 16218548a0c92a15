import t from 'tap';
import { parseConfig, defaultConfig, type Config, type RuntimeConfig } from '../../src/config/config.js';
import { ErrorKind, ShimError } from '../../src/errors/index.js';
import { route, type RouteInput } from '../../src/routing/router.js';
import { formatDecision, type Decision } from '../../src/routing/decision.js';
import { IMPLICIT_RULE } from '../../src/routing/policy.js';
import { CRI_CONTAINER_TYPE, CRI_SANDBOX_ID, CRI_SANDBOX_NAMESPACE } from '../../src/routing/annotations.js';

const KEY = 'switchyard.dev/runtime';
const NOW = new Date('2025-01-02T03:04:05.000Z');
const everything = () => true;

function policyFile(hardenOnly: boolean): string {
  return [
    'default_runtime = "runc"', //                                   1
    '[runtimes.kata]', //                                            2
    'type = "shim"', //                                              3
    'binary = "containerd-shim-kata-v2"', //                         4
    '[policy]', //                                                   5
    'isolation = [["runc", "crun"], "runsc", "kata"]', //            6
    `harden_only = ${hardenOnly}`, //                                7
    '[[policy.rules]]', //                                           8
    'name = "system"', //                                            9
    'namespaces = ["kube-system"]', //                              10
    'allow = ["runc"]', //                                          11
    '[[policy.rules]]', //                                          12
    'name = "tenants"', //                                          13
    'namespaces = ["team-*"]', //                                   14
    'allow = ["runc", "crun", "runsc", "kata"]', //                 15
    'default = "runsc"', //                                         16
    '[[policy.rules]]', //                                          17
    'name = "sandboxed"', //                                        18
    'namespaces = ["secure-?"]', //                                 19
    'default = "runsc"', //                                         20
    '[[policy.rules]]', //                                          21
    'name = "ctr"', //                                              22
    'containerd_namespaces = ["default"]', //                       23
    'allow = ["runc", "crun"]', //                                  24
    '[[policy.rules]]', //                                          25
    'name = "rest"', //                                             26
    'namespaces = ["*"]', //                                        27
    'allow = ["runc", "crun", "runsc"]', //                         28
  ].join('\n');
}

function pod(ns: string, runtime?: string, extra: Record<string, string> = {}): Record<string, string> {
  const a: Record<string, string> = { [CRI_CONTAINER_TYPE]: 'sandbox', [CRI_SANDBOX_ID]: `sb-${ns}`, [CRI_SANDBOX_NAMESPACE]: ns, ...extra };
  if (runtime !== undefined) a[KEY] = runtime;
  return a;
}

function container(sandboxId: string, runtime?: string): Record<string, string> {
  const a: Record<string, string> = { [CRI_CONTAINER_TYPE]: 'container', [CRI_SANDBOX_ID]: sandboxId, [CRI_SANDBOX_NAMESPACE]: 'team-a' };
  if (runtime !== undefined) a[KEY] = runtime;
  return a;
}

/** The decision, or the refusal. */
function attempt(input: Partial<RouteInput> & Pick<RouteInput, 'annotations'>, cfg: Config, available: (rt: RuntimeConfig) => boolean = everything): Decision | ShimError {
  try {
    return route({ containerdNamespace: 'k8s.io', now: NOW, ...input }, cfg, available);
  } catch (err) {
    if (err instanceof ShimError) return err;
    throw err;
  }
}

const P = ErrorKind.PermissionDenied;
const I = ErrorKind.InvalidArgument;
type Want = string | typeof P | typeof I;
const requests = [undefined, 'runc', 'crun', 'runsc', 'kata', 'bogus'] as const;

// Rows: namespace, then the outcome for each request above. `secure-12` has two characters
// after the dash, so `secure-?` misses it and it falls to the `*` rule.
const matrix: Record<'off' | 'on', [string, string, Want[]][]> = {
  off: [
    ['kube-system', 'system', ['runc', 'runc', P, P, P, I]],
    ['team-a', 'tenants', ['runsc', 'runc', 'crun', 'runsc', 'kata', I]],
    ['secure-1', 'sandboxed', ['runsc', 'runc', 'crun', 'runsc', 'kata', I]],
    ['secure-12', 'rest', ['runc', 'runc', 'crun', 'runsc', P, I]],
    ['default', 'rest', ['runc', 'runc', 'crun', 'runsc', P, I]],
  ],
  on: [
    ['kube-system', 'system', ['runc', 'runc', P, P, P, I]],
    ['team-a', 'tenants', ['runsc', P, P, 'runsc', 'kata', I]],
    ['secure-1', 'sandboxed', ['runsc', P, P, 'runsc', 'kata', I]],
    ['secure-12', 'rest', ['runc', 'runc', 'crun', 'runsc', P, I]],
    ['default', 'rest', ['runc', 'runc', 'crun', 'runsc', P, I]],
  ],
};

t.test('policy matrix: namespaces x requests x harden_only', async (t) => {
  for (const harden of ['off', 'on'] as const) {
    const cfg = parseConfig(policyFile(harden === 'on'), '/etc/switchyard/config.toml');
    for (const [ns, ruleName, wants] of matrix[harden]) {
      requests.forEach((req, i) => {
        const want = wants[i]!;
        const label = `harden_only ${harden}, ${ns}, asks ${req ?? '(nothing)'}`;
        const got = attempt({ annotations: pod(ns, req) }, cfg);
        if (want === P || want === I) {
          if (!(got instanceof ShimError)) return t.fail(`${label}: routed to ${got.runtime}, want ${want}`);
          t.equal(got.kind, want, label);
          if (want === P) t.match(got.message, `rule "${ruleName}" (/etc/switchyard/config.toml:`, `${label}: names the rule`);
          if (want === I) t.match(got.message, 'known runtimes: crun, kata, runc, runsc', `${label}: lists the runtimes`);
          return;
        }
        if (got instanceof ShimError) return t.fail(`${label}: ${got.kind}: ${got.message}`);
        t.equal(got.runtime, want, label);
        t.equal(got.rule, ruleName, `${label}: rule`);
        // Never a downgrade: what was asked for is what runs, or the request is refused.
        if (req !== undefined) t.equal(got.runtime, req, `${label}: exactly what was asked`);
      });
    }
  }
});

t.test('refusals say why', async (t) => {
  const on = parseConfig(policyFile(true), '/etc/switchyard/config.toml');
  const weaker = attempt({ annotations: pod('team-a', 'runc') }, on) as ShimError;
  t.equal(
    weaker.message,
    'runtime "runc" refused for pod in Kubernetes namespace "team-a": "runc" is weaker than "runsc", the default of rule "tenants" (/etc/switchyard/config.toml:12), and harden_only allows only as strong or stronger',
  );
  const outside = attempt({ annotations: pod('kube-system', 'runsc') }, on) as ShimError;
  t.equal(outside.message, 'runtime "runsc" refused for pod in Kubernetes namespace "kube-system": rule "system" (/etc/switchyard/config.toml:8) allows only runc');
  const unknown = attempt({ annotations: pod('team-a', 'gvisor') }, on) as ShimError;
  t.equal(unknown.message, 'annotation switchyard.dev/runtime: unknown runtime "gvisor"; known runtimes: crun, kata, runc, runsc');
  const empty = attempt({ annotations: pod('team-a', '') }, on) as ShimError;
  t.equal(empty.kind, I, 'an empty annotation is not a silent default');
});

t.test('harden_only: an unranked runtime is not shown to be stronger', async (t) => {
  const cfg = parseConfig('[runtimes.kata]\ntype = "shim"\nbinary = "k"\n[policy]\nharden_only = true\n', 'c.toml');
  const got = attempt({ annotations: pod('x', 'kata') }, cfg) as ShimError;
  t.equal(got.kind, P);
  t.equal(got.message, `runtime "kata" refused for pod in Kubernetes namespace "x": "kata" has no place in policy.isolation, so under harden_only it cannot be shown to be as strong as "runc", the default of rule "${IMPLICIT_RULE}" (implicit: no rule matched)`);
  t.match(attempt({ annotations: pod('x', 'crun') }, cfg), { runtime: 'crun' }, 'crun shares runc\'s tier');
  t.match(attempt({ annotations: pod('x', 'runsc') }, cfg), { runtime: 'runsc' });
  const perRule = parseConfig('[[policy.rules]]\nnamespaces = ["x"]\ndefault = "runsc"\nharden_only = true\n', 'c.toml');
  t.match(attempt({ annotations: pod('x', 'runc') }, perRule), { kind: P }, 'a rule may turn harden_only on for itself');
  t.match(attempt({ annotations: pod('y', 'runc') }, perRule), { runtime: 'runc' }, 'and only for itself');
});

t.test('an empty allow list refuses every pod of the rule', async (t) => {
  const cfg = parseConfig('[[policy.rules]]\nname = "locked"\nnamespaces = ["locked-*"]\nallow = []\n', 'c.toml');
  for (const req of [undefined, 'runc']) {
    const got = attempt({ annotations: pod('locked-1', req) }, cfg) as ShimError;
    t.equal(got.kind, P);
    t.equal(got.message, `runtime "runc" refused for pod in Kubernetes namespace "locked-1": rule "locked" (c.toml:1) allows no runtime`);
  }
});

t.test('a missing binary is refused, never replaced', async (t) => {
  const cfg = parseConfig(policyFile(true), '/etc/switchyard/config.toml');
  const noRunsc = (rt: RuntimeConfig) => rt.name !== 'runsc';
  const got = attempt({ annotations: pod('team-a') }, cfg, noRunsc) as ShimError;
  t.equal(got.kind, ErrorKind.FailedPrecondition);
  t.equal(got.message, 'runtime "runsc" chosen for pod in Kubernetes namespace "team-a" is not installed: "runsc" was not found on PATH');
  const noKata = attempt({ annotations: pod('team-a', 'kata') }, cfg, (rt) => rt.type !== 'shim') as ShimError;
  t.equal(noKata.kind, ErrorKind.FailedPrecondition);
  t.match(noKata.message, /runtime "kata" .* "containerd-shim-kata-v2" was not found on PATH/);
  const abs = parseConfig('[runtimes.runc]\nbinary = "/opt/runc"\n', 'c.toml');
  t.match(attempt({ annotations: pod('x') }, abs, () => false), { kind: ErrorKind.FailedPrecondition, message: /\/opt\/runc is missing or not executable/ });
  t.match(attempt({ annotations: pod('team-a', 'runc') }, cfg, noRunsc), { kind: P }, 'policy is checked before the binary');
});

t.test('defaults with no file: runc by default, every runtime allowed', async (t) => {
  const cfg = defaultConfig();
  for (const ns of ['kube-system', 'anything']) {
    t.match(attempt({ annotations: pod(ns) }, cfg), { runtime: 'runc', rule: IMPLICIT_RULE });
    for (const rt of ['runc', 'crun', 'runsc']) t.match(attempt({ annotations: pod(ns, rt) }, cfg), { runtime: rt, rule: IMPLICIT_RULE });
    t.match(attempt({ annotations: pod(ns, 'kata') }, cfg), { kind: I, message: /known runtimes: crun, runc, runsc$/ });
  }
  t.match(attempt({ annotations: pod('x', 'crun') }, cfg, (rt) => rt.name !== 'crun'), { kind: ErrorKind.FailedPrecondition });
  const bare = attempt({ annotations: {}, containerdNamespace: 'default' }, cfg) as Decision;
  t.match(bare, { runtime: 'runc', rule: IMPLICIT_RULE, inputs: { containerType: 'bare', containerdNamespace: 'default' } });
});

t.test('the annotation key is configurable', async (t) => {
  const cfg = parseConfig('annotation_key = "example.com/isolation"\n', 'c.toml');
  t.match(attempt({ annotations: pod('x', 'runsc') }, cfg), { runtime: 'runc' }, 'the default key means nothing now');
  t.match(attempt({ annotations: pod('x', undefined, { 'example.com/isolation': 'runsc' }) }, cfg), { runtime: 'runsc', inputs: { annotationKey: 'example.com/isolation', requested: 'runsc' } });
});

t.test('sandbox affinity', async (t) => {
  const cfg = parseConfig(policyFile(true), '/etc/switchyard/config.toml');
  const sandbox = attempt({ annotations: pod('team-a', 'kata') }, cfg) as Decision;
  t.equal(sandbox.runtime, 'kata');
  const known = new Map([['sb-team-a', sandbox]]);
  const lookup = (id: string) => known.get(id);
  for (const own of [undefined, 'runc', 'kata', 'bogus']) {
    const d = attempt({ annotations: container('sb-team-a', own), sandboxDecision: lookup }, cfg) as Decision;
    t.match(d, { runtime: 'kata', rule: 'tenants', inherited: true, inputs: { containerType: 'container', sandboxId: 'sb-team-a', requested: own } }, `own annotation ${own}`);
  }
  const ignored = attempt({ annotations: container('sb-team-a', 'runc'), sandboxDecision: lookup }, cfg) as Decision;
  t.equal(ignored.reason, 'a CRI container runs on its sandbox\'s runtime: sandbox "sb-team-a" runs on "kata" (rule "tenants"); its own annotation asked for "runc" and is ignored');
  t.match(attempt({ annotations: container('sb-team-a'), sandboxDecision: lookup }, cfg, () => false), { runtime: 'kata' }, 'the sandbox already runs: no second binary check');

  const lost = attempt({ annotations: container('sb-gone'), sandboxDecision: lookup }, cfg) as ShimError;
  t.equal(lost.kind, ErrorKind.FailedPrecondition);
  t.equal(lost.message, 'container of sandbox "sb-gone": no routing decision is known for that sandbox, so its runtime cannot be inherited; refusing rather than guessing');
  t.match(attempt({ annotations: container('sb-team-a') }, cfg), { kind: ErrorKind.FailedPrecondition }, 'no lookup at all');
});

t.test('malformed CRI annotations', async (t) => {
  const cfg = defaultConfig();
  t.match(attempt({ annotations: { [CRI_CONTAINER_TYPE]: 'sandbox', [CRI_SANDBOX_ID]: 'x' } }, cfg), { kind: I, message: /without a io.kubernetes.cri.sandbox-namespace/ });
  t.match(attempt({ annotations: { [CRI_CONTAINER_TYPE]: 'container' } }, cfg), { kind: I, message: /without a io.kubernetes.cri.sandbox-id/ });
  t.match(attempt({ annotations: { [CRI_CONTAINER_TYPE]: 'pod' } }, cfg), { kind: I, message: '"pod" is neither "sandbox" nor "container"' });
});

t.test('bare tasks: containerd namespace rules, then the * rule, then the implicit one', async (t) => {
  const cfg = parseConfig(policyFile(true), '/etc/switchyard/config.toml');
  const bare = (ns: string, rt?: string) => attempt({ annotations: rt === undefined ? {} : { [KEY]: rt }, containerdNamespace: ns }, cfg);
  t.match(bare('default'), { runtime: 'runc', rule: 'ctr', inherited: false, inputs: { containerType: 'bare', containerdNamespace: 'default' } });
  t.match(bare('default', 'crun'), { runtime: 'crun', rule: 'ctr' });
  t.match(bare('default', 'runsc'), { kind: P, message: 'runtime "runsc" refused for bare task in containerd namespace "default": rule "ctr" (/etc/switchyard/config.toml:21) allows only runc, crun' });
  t.match(bare('k8s.io'), { runtime: 'runc', rule: 'rest' }, 'falls to the * rule');
  t.match(bare('team-a', 'kata'), { kind: P, message: /rule "rest"/ }, 'a containerd namespace is never read as a Kubernetes one');
  t.match(bare('other', 'runsc'), { runtime: 'runsc', rule: 'rest' });
  t.equal((bare('other') as Decision).inputs.k8sNamespace, undefined);

  const noStar = parseConfig('[[policy.rules]]\nnamespaces = ["team-*"]\nallow = ["runsc"]\ndefault = "runsc"\n', 'c.toml');
  t.match(attempt({ annotations: { [KEY]: 'crun' }, containerdNamespace: 'team-a' }, noStar), { runtime: 'crun', rule: IMPLICIT_RULE }, 'no * rule: allow-all');
});

t.test('the decision record', async (t) => {
  const cfg = parseConfig(policyFile(true), '/etc/switchyard/config.toml');
  const d = attempt({ annotations: pod('team-a', 'kata') }, cfg) as Decision;
  t.same(d, {
    runtime: 'kata',
    rule: 'tenants',
    inherited: false,
    inputs: { annotationKey: KEY, requested: 'kata', k8sNamespace: 'team-a', containerdNamespace: 'k8s.io', containerType: 'sandbox', sandboxId: 'sb-team-a' },
    reason: 'pod in Kubernetes namespace "team-a" asked for "kata" (annotation switchyard.dev/runtime); Kubernetes namespace "team-a" matches rule "tenants" (/etc/switchyard/config.toml:12); it allows "kata" (harden_only: not weaker than its default "runsc")',
    at: '2025-01-02T03:04:05.000Z',
  });
  t.same(JSON.parse(JSON.stringify(d)), d, 'plain data');
  t.equal(
    formatDecision(d),
    [
      'runtime kata, rule tenants',
      '  task:    pod sandbox sb-team-a in Kubernetes namespace team-a, containerd namespace k8s.io',
      '  asked:   switchyard.dev/runtime=kata',
      `  reason:  ${d.reason}`,
      '  decided: 2025-01-02T03:04:05.000Z',
    ].join('\n'),
  );
  const byDefault = attempt({ annotations: pod('default') }, cfg) as Decision;
  t.equal(byDefault.reason, 'pod in Kubernetes namespace "default" asked for no runtime (no switchyard.dev/runtime annotation); Kubernetes namespace "default" matches rule "rest" (/etc/switchyard/config.toml:25); its default is "runc" (the node\'s default_runtime)');
  t.match(formatDecision(byDefault), /asked: {3}no switchyard.dev\/runtime annotation/);
  const implicit = attempt({ annotations: {}, containerdNamespace: 'default' }, defaultConfig()) as Decision;
  t.equal(implicit.reason, 'bare task in containerd namespace "default" asked for no runtime (no switchyard.dev/runtime annotation); no rule lists containerd namespace "default", so the implicit "*" rule allows every runtime; its default is "runc" (the node\'s default_runtime)');
  t.match(formatDecision(implicit), /task: {4}bare task \(no CRI annotations\), containerd namespace default/);
  const inherited = attempt({ annotations: container('sb-team-a', 'runc'), sandboxDecision: () => d }, cfg) as Decision;
  t.equal(
    formatDecision(inherited).split('\n').slice(0, 3).join('\n'),
    [
      'runtime kata, rule tenants, inherited from sandbox sb-team-a',
      '  task:    container of pod sandbox sb-team-a in Kubernetes namespace team-a, containerd namespace k8s.io',
      "  asked:   switchyard.dev/runtime=runc (ignored: a container runs on its sandbox's runtime)",
    ].join('\n'),
  );
  const before = Date.now();
  const now = route({ annotations: pod('x'), containerdNamespace: 'k8s.io' }, cfg, everything);
  t.ok(Date.parse(now.at) >= before - 1000, 'the clock by default');
});

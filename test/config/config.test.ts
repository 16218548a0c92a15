import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseConfig, loadConfig, defaults, defaultConfig, type Config } from '../../src/config/config.js';
import { ErrorKind, ShimError } from '../../src/errors/index.js';
import { runtimeFlags } from '../../src/config/runtimes.js';
import type { OciRuntimeConfig } from '../../src/config/types.js';
import { tempDir } from '../helpers/tmp.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function refusal(text: string, source = 'c.toml'): ShimError {
  try {
    parseConfig(text, source);
  } catch (err) {
    if (err instanceof ShimError) return err;
    throw err;
  }
  throw new Error(`accepted:\n${text}`);
}

t.test('defaults with no file', async (t) => {
  t.match(loadConfig(undefined, {}), { ...defaults });
  const cfg = defaultConfig();
  t.same(cfg.runtimes, {
    runc: { name: 'runc', type: 'oci', binary: 'runc', root: '/run/switchyard/runc', flavour: 'runc', args: [] },
    crun: { name: 'crun', type: 'oci', binary: 'crun', root: '/run/switchyard/crun', flavour: 'crun', args: [] },
    runsc: { name: 'runsc', type: 'oci', binary: 'runsc', root: '/run/switchyard/runsc', flavour: 'runsc', args: [] },
  });
  t.equal(cfg.defaultRuntime, 'runc');
  t.equal(cfg.annotationKey, 'switchyard.dev/runtime');
  t.equal(cfg.runtimeRoot, '/run/switchyard/runc');
  t.same(cfg.policy, { isolation: [['runc', 'crun'], ['runsc']], hardenOnly: false, rules: [] });
  t.same(parseConfig('', 'empty.toml'), { ...defaultConfig('empty.toml') }, 'an empty file is the defaults');
});

t.test('every parse builds its own objects', async (t) => {
  const a = parseConfig('[runtimes.runc]\nargs = ["--debug"]\n', 'a.toml');
  const b = parseConfig('', 'b.toml');
  t.same(b.runtimes.runc, defaults.runtimes.runc);
  t.not(a.runtimes, b.runtimes);
  b.policy.isolation[0]!.push('x');
  t.same(defaultConfig().policy.isolation, [['runc', 'crun'], ['runsc']]);
});

t.test('keys', async (t) => {
  t.match(parseConfig('protocol = "grpc"\ngrouping = "pod"\nidle_timeout = "2m"\n', 'c.toml'), { protocol: 'grpc', grouping: 'pod', idleTimeoutMs: 120_000 });
  t.match(parseConfig('idle_timeout = 5', 'c.toml'), { idleTimeoutMs: 5000 });
  t.match(parseConfig('default_runtime = "crun"\nannotation_key = "example.com/runtime"\n', 'c.toml'), { defaultRuntime: 'crun', annotationKey: 'example.com/runtime' });
  t.match(parseConfig('annotation_key = "runtime"', 'c.toml'), { annotationKey: 'runtime' }, 'an unprefixed key');
});

t.test('runtime roots follow state_dir; runtime_root and [runtimes.runc] root place runc', async (t) => {
  const moved = parseConfig('state_dir = "/var/run/sy"\n', 'c.toml');
  t.match(moved, { runtimeRoot: '/var/run/sy/runc', runtimes: { runc: { root: '/var/run/sy/runc' }, crun: { root: '/var/run/sy/crun' } } });
  const legacy = parseConfig('runtime_root = "/srv/runc"\n', 'c.toml');
  t.match(legacy, { runtimeRoot: '/srv/runc', runtimes: { runc: { root: '/srv/runc' }, runsc: { root: '/run/switchyard/runsc' } } });
  const table = parseConfig('runtime_root = "/srv/runc"\n[runtimes.runc]\nroot = "/opt/runc-state/"\n', 'c.toml');
  t.equal(table.runtimeRoot, '/opt/runc-state/', 'the table wins; the path is normalised');
  t.equal(table.runtimes.runc!.type === 'oci' && table.runtimes.runc.root, '/opt/runc-state/');
});

t.test('a [runtimes.X] table with a predefined name overrides only its fields', async (t) => {
  const cfg = parseConfig('[runtimes.runsc]\nargs = ["--platform=kvm", "--debug"]\n\n[runtimes.crun]\nbinary = "/opt/crun/bin/crun"\n', 'c.toml');
  t.same(cfg.runtimes.runsc, { name: 'runsc', type: 'oci', binary: 'runsc', root: '/run/switchyard/runsc', flavour: 'runsc', args: ['--platform=kvm', '--debug'] });
  t.same(cfg.runtimes.crun, { name: 'crun', type: 'oci', binary: '/opt/crun/bin/crun', root: '/run/switchyard/crun', flavour: 'crun', args: [] });
  t.same(cfg.runtimes.runc, defaults.runtimes.runc);
});

t.test('new runtimes extend the predefined ones', async (t) => {
  const cfg = parseConfig(
    [
      '[runtimes.gvisor-kvm]',
      'binary = "/usr/local/bin/runsc"',
      'args = ["--platform=kvm"]',
      '[runtimes.youki]',
      'type = "oci"',
      'binary = "youki"',
      'flavour = "runc"',
      'root = "/run/youki"',
      '[runtimes.kata]',
      'type = "shim"',
      'binary = "containerd-shim-kata-v2"',
      'options = { ConfigPath = "/etc/kata/configuration.toml", Debug = true }',
      '[runtimes.kata2]',
      'type = "shim"',
      'binary = "/opt/kata/bin/containerd-shim-kata-v2"',
    ].join('\n'),
    'c.toml',
  );
  t.same(Object.keys(cfg.runtimes).sort(), ['crun', 'gvisor-kvm', 'kata', 'kata2', 'runc', 'runsc', 'youki']);
  t.same(cfg.runtimes['gvisor-kvm'], { name: 'gvisor-kvm', type: 'oci', binary: '/usr/local/bin/runsc', root: '/run/switchyard/gvisor-kvm', flavour: 'runsc', args: ['--platform=kvm'] }, 'the flavour is guessed from the binary');
  t.same(cfg.runtimes.youki, { name: 'youki', type: 'oci', binary: 'youki', root: '/run/youki', flavour: 'runc', args: [] });
  t.same(cfg.runtimes.kata, { name: 'kata', type: 'shim', binary: 'containerd-shim-kata-v2', options: { ConfigPath: '/etc/kata/configuration.toml', Debug: true } });
  t.same(cfg.runtimes.kata2, { name: 'kata2', type: 'shim', binary: '/opt/kata/bin/containerd-shim-kata-v2' });
  const replaced = parseConfig('[runtimes.runsc]\ntype = "shim"\nbinary = "containerd-shim-runsc-v1"\n', 'c.toml');
  t.same(replaced.runtimes.runsc, { name: 'runsc', type: 'shim', binary: 'containerd-shim-runsc-v1' }, 'another type: nothing carries over');
});

t.test('policy', async (t) => {
  const cfg = parseConfig(
    [
      'default_runtime = "runc"',
      '[policy]',
      'isolation = [["runc", "crun"], "runsc"]',
      'harden_only = true',
      '',
      '[[policy.rules]]',
      'namespaces = ["kube-system", "kube-public"]',
      'allow = ["runc"]',
      '',
      '[[policy.rules]]',
      'name = "tenants"',
      'namespaces = ["team-*"]',
      'allow = ["runsc", "crun"]',
      'default = "runsc"',
      'harden_only = false',
      '',
      '[[policy.rules]]',
      'containerd_namespaces = ["default", "ci-*"]',
      '',
      '[[policy.rules]]',
      'namespaces = ["*"]',
    ].join('\n'),
    'p.toml',
  );
  t.same(cfg.policy, {
    isolation: [['runc', 'crun'], ['runsc']],
    hardenOnly: true,
    rules: [
      { name: 'kube-system,kube-public', namespaces: ['kube-system', 'kube-public'], containerdNamespaces: [], allow: ['runc'], line: 6 },
      { name: 'tenants', namespaces: ['team-*'], containerdNamespaces: [], allow: ['runsc', 'crun'], default: 'runsc', hardenOnly: false, line: 10 },
      { name: 'containerd:default,ci-*', namespaces: [], containerdNamespaces: ['default', 'ci-*'], line: 17 },
      { name: '*', namespaces: ['*'], containerdNamespaces: [], line: 20 },
    ],
  });
  t.same(parseConfig('[[policy.rules]]\nnamespaces = ["locked"]\nallow = []\n', 'c.toml').policy.rules[0]!.allow, [], 'an empty allow list refuses every pod');
  t.same(parseConfig('[policy]\nrules = [ { namespaces = ["a"], allow = ["crun"], default = "crun" } ]\n', 'c.toml').policy.rules[0], { name: 'a', namespaces: ['a'], containerdNamespaces: [], allow: ['crun'], default: 'crun', line: 2 }, 'inline tables too');
});

// Each bad file is refused with exactly `file:line: key: reason`.
const badFiles: [string, string, string][] = [
  // [what, file text, message]
  ['unknown top-level key', '\n\nnope = 1\n', 'c.toml:3: nope: unknown key'],
  ['unknown table', 'protocol = "ttrpc"\n[runtime.runc]\nbinary = "x"\n', 'c.toml:2: runtime: unknown key'],
  ['wrong type', 'default_runtime = 3\n', 'c.toml:1: default_runtime: must be a string'],
  ['default names no runtime', 'log_level = "debug"\ndefault_runtime = "kata"\n', 'c.toml:2: default_runtime: unknown runtime "kata"; known: crun, runc, runsc'],
  ['bad annotation key', 'annotation_key = "switchyard.dev/"\n', 'c.toml:1: annotation_key: must be a Kubernetes annotation key such as "switchyard.dev/runtime"'],
  ['runtimes not a table', 'runtimes = "runc"\n', 'c.toml:1: runtimes: must be a table'],
  ['runtime not a table', '[runtimes]\nrunc = "runc"\n', 'c.toml:2: runtimes.runc: must be a table'],
  ['unknown runtime key', '[runtimes.runc]\nargs = []\nbinnary = "runc"\n', 'c.toml:3: runtimes.runc.binnary: not a key of a type = "oci" runtime (binary, root, flavour, args, runsc_config)'],
  ['bad runtime type', '[runtimes.x]\ntype = "vm"\n', 'c.toml:2: runtimes.x.type: must be "oci" or "shim"'],
  ['new oci runtime without binary', '[runtimes.x]\nflavour = "runc"\n', 'c.toml:1: runtimes.x.binary: required'],
  ['flavour not guessable', '[runtimes.x]\nbinary = "youki"\n', 'c.toml:1: runtimes.x.flavour: required: binary "youki" is not named runc, crun or runsc'],
  ['bad flavour', '[runtimes.x]\nbinary = "runc"\nflavour = "youki"\n', 'c.toml:3: runtimes.x.flavour: must be one of runc, crun, runsc'],
  ['relative binary path', '[runtimes.x]\nbinary = "bin/runc"\n', 'c.toml:2: runtimes.x.binary: must be a command name found on PATH or an absolute path'],
  ['empty binary', '[runtimes.runc]\nbinary = ""\n', 'c.toml:2: runtimes.runc.binary: must not be empty'],
  ['relative root', '[runtimes.runc]\nroot = "run/runc"\n', 'c.toml:2: runtimes.runc.root: must be an absolute path'],
  ['args of the wrong type', '[runtimes.runsc]\nargs = "--platform=kvm"\n', 'c.toml:2: runtimes.runsc.args: must be an array of strings'],
  ['runsc_config: unknown flag', '[runtimes.runsc.runsc_config]\nplatfrom = "kvm"\n', 'c.toml:2: runtimes.runsc.runsc_config.platfrom: not a runsc flag (see `runsc flags`)'],
  ['runsc_config: a bad network', '[runtimes.runsc.runsc_config]\nnetwork = "bridge"\n', 'c.toml:2: runtimes.runsc.runsc_config.network: must be one of sandbox, host, none'],
  ['runsc_config: a flag the driver sets', '[runtimes.runsc.runsc_config]\nroot = "/tmp"\n', "c.toml:2: runtimes.runsc.runsc_config.root: set by Switchyard from the runtime's root"],
  ['runsc_config: a table value', '[runtimes.runsc.runsc_config]\ndebug = [true]\n', 'c.toml:2: runtimes.runsc.runsc_config.debug: must be a string, a boolean or an integer'],
  ['runsc_config on runc', '[runtimes.runc.runsc_config]\ndebug = true\n', 'c.toml:1: runtimes.runc.runsc_config: only for flavour = "runsc" (this runtime is runc)'],
  ['runsc_config and args set one flag', '[runtimes.runsc]\nargs = ["--network=none"]\n[runtimes.runsc.runsc_config]\nnetwork = "host"\n', 'c.toml:4: runtimes.runsc.runsc_config.network: also set in args; set it in one place'],
  ['args that fight the driver', '[runtimes.runsc]\nargs = ["--debug", "--root=/tmp"]\n', 'c.toml:2: runtimes.runsc.args: --root is set by Switchyard from root'],
  ['bad runtime name', '[runtimes."my rt"]\nbinary = "runc"\n', 'c.toml:1: runtimes."my rt": a runtime name is letters, digits, ".", "_" and "-", starting with a letter or digit'],
  ['reserved runtime name', '[runtimes.daemons]\nbinary = "runc"\n', 'c.toml:1: runtimes.daemons: "daemons" is reserved for Switchyard\'s own state'],
  ['shim without binary', '[runtimes.kata]\ntype = "shim"\n', 'c.toml:1: runtimes.kata.binary: required'],
  ['oci keys on a shim', '[runtimes.kata]\ntype = "shim"\nbinary = "containerd-shim-kata-v2"\nroot = "/run/kata"\n', 'c.toml:4: runtimes.kata.root: not a key of a type = "shim" runtime (binary, options)'],
  ['options on an oci runtime', '[runtimes.runc]\noptions = { a = 1 }\n', 'c.toml:2: runtimes.runc.options: not a key of a type = "oci" runtime (binary, root, flavour, args, runsc_config)'],
  ['shim options not a table', '[runtimes.kata]\ntype = "shim"\nbinary = "k"\noptions = 3\n', 'c.toml:4: runtimes.kata.options: must be a table'],
  ['unknown policy key', '[policy]\nharden_only = true\nhardenonly = true\n', 'c.toml:3: policy.hardenonly: unknown key'],
  ['harden_only not a boolean', '[policy]\nharden_only = "yes"\n', 'c.toml:2: policy.harden_only: must be true or false'],
  ['isolation not an array', '[policy]\nisolation = "runc"\n', 'c.toml:2: policy.isolation: must be an array of runtime names (or arrays of equally strong ones), weakest first'],
  ['isolation unknown runtime', '[policy]\nisolation = [\n  "runc",  # weakest\n  "kata",\n]\n', 'c.toml:2: policy.isolation: unknown runtime "kata"; known: crun, runc, runsc'],
  ['duplicate isolation entry', '[policy]\nisolation = ["runc", "crun", "runsc", "runc"]\n', 'c.toml:2: policy.isolation: duplicate isolation entry "runc"'],
  ['duplicate across tiers', '[policy]\nisolation = [["runc", "crun"], ["crun"], "runsc"]\n', 'c.toml:2: policy.isolation: duplicate isolation entry "crun"'],
  ['empty tier', '[policy]\nisolation = [[], "runsc"]\n', 'c.toml:2: policy.isolation: an empty tier'],
  ['rules not an array', '[policy]\nrules = { namespaces = ["a"] }\n', 'c.toml:2: policy.rules: must be an array of tables ([[policy.rules]])'],
  ['rule naming an unknown runtime', '[[policy.rules]]\nnamespaces = ["a"]\nallow = ["runc", "kata"]\n', 'c.toml:3: policy.rules[0].allow: unknown runtime "kata"; known: crun, runc, runsc'],
  ['rule default naming an unknown runtime', '[[policy.rules]]\nnamespaces = ["a"]\n\n[[policy.rules]]\nnamespaces = ["b"]\ndefault = "gvisor"\n', 'c.toml:6: policy.rules[1].default: unknown runtime "gvisor"; known: crun, runc, runsc'],
  ['unknown rule key (second rule)', '[[policy.rules]]\nnamespaces = ["a"]\nallow = ["runc"]\n[[policy.rules]]\nnamespaces = ["b"]\nallowed = ["runc"]\n', 'c.toml:6: policy.rules[1].allowed: unknown key'],
  ['rule without namespaces', '[[policy.rules]]\nallow = ["runc"]\n', 'c.toml:1: policy.rules[0]: needs namespaces (pods) or containerd_namespaces (bare tasks)'],
  ['bad namespace pattern', '[[policy.rules]]\nnamespaces = ["Team_A"]\n', 'c.toml:2: policy.rules[0].namespaces: "Team_A" is not a Kubernetes namespace or a glob of one (a-z, 0-9, -, *, ?)'],
  ['bad containerd namespace pattern', '[[policy.rules]]\ncontainerd_namespaces = ["a/b"]\n', 'c.toml:2: policy.rules[0].containerd_namespaces: "a/b" is not a containerd namespace or a glob of one (A-Z, a-z, 0-9, ., _, -, *, ?)'],
  ['duplicate namespace in a rule', '[[policy.rules]]\nnamespaces = ["a", "b", "a"]\n', 'c.toml:2: policy.rules[0].namespaces: duplicate namespace "a"'],
  ['duplicate runtime in allow', '[[policy.rules]]\nnamespaces = ["a"]\nallow = ["runc", "runc"]\n', 'c.toml:3: policy.rules[0].allow: duplicate runtime "runc"'],
  ['default not in allow', '[[policy.rules]]\nnamespaces = ["a"]\nallow = ["runsc"]\ndefault = "runc"\n', 'c.toml:4: policy.rules[0].default: "runc" is not in allow'],
  ['default needed', '[[policy.rules]]\nnamespaces = ["a"]\nallow = ["runsc"]\n', 'c.toml:1: policy.rules[0].default: required: default_runtime "runc" is not in allow'],
  ['namespace an earlier rule lists', '[[policy.rules]]\nnamespaces = ["a", "b"]\n[[policy.rules]]\nnamespaces = ["c", "b"]\n', 'c.toml:4: policy.rules[1].namespaces: "b" can never match: rule "a,b" (line 1) lists it first'],
  ['rule after the * rule', '[[policy.rules]]\nname = "all"\nnamespaces = ["*"]\n[[policy.rules]]\nnamespaces = ["team-*"]\n', 'c.toml:5: policy.rules[1].namespaces: "team-*" can never match: rule "all" (line 1) matches every namespace first'],
  ['duplicate rule name', '[[policy.rules]]\nname = "x"\nnamespaces = ["a"]\n[[policy.rules]]\nname = "x"\nnamespaces = ["b"]\n', 'c.toml:5: policy.rules[1].name: duplicate rule name "x" (first at line 1)'],
  ['bad rule name', '[[policy.rules]]\nname = "my rule"\nnamespaces = ["b"]\n', 'c.toml:2: policy.rules[0].name: a rule name is letters, digits, ".", "_" and "-", starting with a letter or digit'],
  ['harden_only with an unranked rule default', '[runtimes.kata]\ntype = "shim"\nbinary = "k"\n[policy]\nharden_only = true\n[[policy.rules]]\nnamespaces = ["a"]\ndefault = "kata"\n', 'c.toml:8: policy.rules[0].default: "kata" has no place in policy.isolation, which harden_only compares against'],
  ['a top-level key written inside a table', '[runtimes.kata]\ntype = "shim"\nbinary = "k"\ndefault_runtime = "kata"\n', 'c.toml:4: runtimes.kata.default_runtime: not a key of a type = "shim" runtime (binary, options)'],
  ['harden_only with an unranked node default', 'default_runtime = "kata"\n[runtimes.kata]\ntype = "shim"\nbinary = "k"\n[policy]\nharden_only = true\n', 'c.toml:6: policy.harden_only: default_runtime "kata", the default of pods no rule matches, has no place in policy.isolation'],
  ['a rule inheriting an unranked default', 'default_runtime = "kata"\n[runtimes.kata]\ntype = "shim"\nbinary = "k"\n[[policy.rules]]\nnamespaces = ["a"]\nharden_only = true\n', 'c.toml:5: policy.rules[0].default: default_runtime "kata", this rule\'s default, has no place in policy.isolation, which harden_only compares against'],
  ['inline rules fall back to the rules line', '[policy]\nisolation = ["runc"]\nrules = [\n  { namespaces = ["a"], allow = ["kata"] },\n]\n', 'c.toml:3: policy.rules[0].allow: unknown runtime "kata"; known: crun, runc, runsc'],
];

t.test('a bad file is refused with file, line and reason', async (t) => {
  t.throws(() => parseConfig('protocol = "grpc"\ngrouping = "cluster"\n', '/etc/s.toml'), { kind: ErrorKind.InvalidArgument, message: '/etc/s.toml:2: grouping: must be "namespace" or "pod"' });
  t.throws(() => parseConfig('\n\nnope = 1\n', '/etc/s.toml'), { message: '/etc/s.toml:3: nope: unknown key' });
  t.throws(() => parseConfig('protocol = \n', '/etc/s.toml'), { message: /^\/etc\/s\.toml:1:\d+: / });
  t.throws(() => loadConfig('/nonexistent/switchyard.toml', {}), { kind: ErrorKind.FailedPrecondition, message: /\/nonexistent\/switchyard.toml: ENOENT/ });
  for (const [what, text, message] of badFiles) {
    const err = refusal(text);
    t.equal(err.message, message, what);
    t.equal(err.kind, ErrorKind.InvalidArgument, `${what}: InvalidArgument`);
  }
  const dup = refusal('[[policy.rules]]\nnamespaces = ["a"]\nnamespaces = ["b"]\n');
  t.match(dup.message, /^c\.toml:3:\d+: /, 'a key written twice is a TOML error, with line and column');
});

t.test('the config path: explicit, then SWITCHYARD_CONFIG', async (t) => {
  const dir = tempDir(t);
  const a = path.join(dir, 'a.toml');
  const b = path.join(dir, 'b.toml');
  fs.writeFileSync(a, 'default_runtime = "crun"\n');
  fs.writeFileSync(b, 'default_runtime = "runsc"\n');
  t.match(loadConfig(undefined, { SWITCHYARD_CONFIG: b }), { source: b, defaultRuntime: 'runsc' });
  t.match(loadConfig(a, { SWITCHYARD_CONFIG: b }), { source: a, defaultRuntime: 'crun' });
  fs.writeFileSync(a, '[[policy.rules]]\nnamespaces = ["x"]\nallow = ["nope"]\n');
  t.throws(() => loadConfig(a, {}), { kind: ErrorKind.InvalidArgument, message: `${a}:3: policy.rules[0].allow: unknown runtime "nope"; known: crun, runc, runsc` });
});

t.test('docs/config.example.toml parses', async (t) => {
  const file = path.join(repo, 'docs/config.example.toml');
  const cfg: Config = loadConfig(file, {});
  t.same(Object.keys(cfg.runtimes).sort(), ['crun', 'kata', 'runc', 'runsc', 'runsc-kvm']);
  t.match(cfg.runtimes.runsc, { type: 'oci', binary: 'runsc', flavour: 'runsc', args: ['--platform=systrap'] });
  t.match(cfg.runtimes['runsc-kvm'], { type: 'oci', binary: '/usr/local/bin/runsc', flavour: 'runsc', root: '/run/switchyard/runsc-kvm', args: ['--platform=kvm'] });
  t.same(cfg.runtimes.kata, { name: 'kata', type: 'shim', binary: 'containerd-shim-kata-v2', options: { ConfigPath: '/etc/kata-containers/configuration.toml' } });
  t.equal(cfg.defaultRuntime, 'runc');
  t.equal(cfg.annotationKey, 'switchyard.dev/runtime');
  t.same(cfg.policy.isolation, [['runc', 'crun'], ['runsc'], ['runsc-kvm'], ['kata']]);
  t.equal(cfg.policy.hardenOnly, true);
  t.same(
    cfg.policy.rules.map((r) => r.name),
    ['system', 'tenants', 'ctr', 'others'],
  );
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const r of cfg.policy.rules) t.equal(lines[r.line - 1], '[[policy.rules]]', `rule ${r.name} points at its header`);
});

t.test('runsc_config: runsc flags by name, as gVisor\'s runsc.toml, after args', async (t) => {
  const cfg = parseConfig(
    ['[runtimes.runsc]', 'args = ["--debug"]', '[runtimes.runsc.runsc_config]', 'platform = "systrap"', 'network = "host"', 'overlay2 = "root:self"', '"debug-log" = "/var/log/runsc/"', 'strace = false', 'fdlimit = 4096', ''].join('\n'),
    'c.toml',
  );
  const rt = cfg.runtimes.runsc as OciRuntimeConfig;
  t.same(rt.runscConfig, { platform: 'systrap', network: 'host', overlay2: 'root:self', 'debug-log': '/var/log/runsc/', strace: 'false', fdlimit: '4096' });
  t.same(runtimeFlags(rt), ['--debug', '--platform=systrap', '--network=host', '--overlay2=root:self', '--debug-log=/var/log/runsc/', '--strace=false', '--fdlimit=4096']);
  t.same(runtimeFlags(cfg.runtimes.runc as OciRuntimeConfig), []);
});

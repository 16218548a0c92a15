import t from 'tap';
import { age, table } from '../../src/cli/output.js';
import { parseSignal } from '../../src/cli/tasks.js';
import { RUNTIMECLASS } from '../../src/cli/runtimeclass.js';
import { checkContainerdConfig, containerdSnippet } from '../../src/cli/containerd-config.js';
import { parse as parseToml } from 'smol-toml';
import { defaultConfig } from '../../src/config/config.js';
import { main } from '../../src/cli/main.js';

t.test('tables align; ages read like ps', async (t) => {
  t.equal(table(['A', 'LONGER'], [['xx', 'y'], ['z', 'w']]), 'A   LONGER\nxx  y\nz   w\n');
  t.equal(age(new Date(Date.now() - 5000)), '5s');
  t.equal(age(new Date(Date.now() - 3 * 3600_000)), '3h');
  t.equal(age(undefined), '-');
});

t.test('signals by name or number', async (t) => {
  t.equal(parseSignal('KILL'), 9);
  t.equal(parseSignal('sigterm'), 15);
  t.equal(parseSignal('9'), 9);
  t.throws(() => parseSignal('NOPE'), /unknown signal NOPE/);
});

t.test('install snippets: the runtime entry allowlists the configured annotation key', async (t) => {
  const cfg = defaultConfig();
  t.match(containerdSnippet(cfg), /runtime_type = "io\.containerd\.switchyard\.v2"/);
  t.match(containerdSnippet({ ...cfg, annotationKey: 'example.com/rt' }), /pod_annotations = \["example\.com\/rt"\]/);
  t.match(RUNTIMECLASS, /handler: switchyard/);
  t.match(containerdSnippet(cfg, 2), /^\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.switchyard\]$/m);
  const v3 = containerdSnippet(cfg, 3, '2.1.9');
  t.match(v3, /^version = 3$/m);
  t.match(v3, /^\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.switchyard\]$/m);
  t.match(v3, /containerd 2\.1\.9, config version 3/);
});

t.test('containerd config checks, version 2 and version 3', async (t) => {
  const cfg = defaultConfig();
  const v = (text: string) => ({ major: Number(text[0]), minor: Number(text[2]), text });
  const check = (toml: string, containerd?: string) => checkContainerdConfig(parseToml(toml) as Record<string, unknown>, 'c.toml', cfg, containerd ? v(containerd) : undefined);
  const bad = (fs: ReturnType<typeof check>) => fs.filter((f) => !f.ok).map((f) => f.detail);
  for (const form of [2, 3] as const) {
    t.same(bad(check(containerdSnippet(cfg, form))), [], `the version-${form} snippet passes`);
    const trap = containerdSnippet(cfg, form).replace(/pod_annotations = .*/, '');
    t.match(bad(check(trap)), [/pod_annotations \[\] does not cover switchyard\.dev\/runtime/], `version ${form}: the pod_annotations trap`);
    const wide = containerdSnippet(cfg, form).replace(/pod_annotations = .*/, 'pod_annotations = ["*"]');
    t.match(bad(check(wide)), [/lets pods set io\.kubernetes\.cri\.\* annotations/], `version ${form}: too wide`);
  }
  const misplaced = 'version = 3\n' + containerdSnippet(cfg, 2);
  t.match(bad(check(misplaced)), [/version-2 table .* which containerd 2\.x does not read there/, /no CRI runtime/], 'a version-3 file with the version-2 table');
  t.match(bad(check(containerdSnippet(cfg, 3), '1.7.24')), [/config version 3, which containerd 1\.7\.24 cannot read/], 'version 3 on containerd 1.7');
  const none = check('version = 3\n', '2.1.9');
  t.match(none.find((f) => !f.ok)?.fix, /version = 3\n\[plugins\.'io\.containerd\.cri\.v1\.runtime'/, 'the fix is in the found containerd\'s form');
});

/** Runs main with stdout and stderr captured (restored before any assertion: tap writes to stdout). */
async function capture(argv: string[]): Promise<{ code: number; text: string }> {
  const err = process.stderr.write;
  const out = process.stdout.write;
  let text = '';
  process.stderr.write = ((s: string) => ((text += s), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => ((text += s), true)) as typeof process.stdout.write;
  try {
    return { code: await main(argv), text };
  } finally {
    process.stderr.write = err;
    process.stdout.write = out;
  }
}

t.test('usage errors exit 2; help exits 0', async (t) => {
  const unknown = await capture(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.text, /unknown command "frobnicate"/);
  t.equal((await capture(['route'])).code, 2, 'route without inputs');
  t.equal((await capture(['--help'])).code, 0);
  const whyHelp = await capture(['why', '--help']);
  t.equal(whyHelp.code, 0);
  t.match(whyHelp.text, /Usage: switchyard why ID/);
  t.equal((await capture(['config', 'check'])).code, 2);
});

t.test('the sandbox handler: printed for containerd 2.x, checked by doctor', async (t) => {
  const cfg = defaultConfig();
  const v = (text: string) => ({ major: Number(text[0]), minor: Number(text[2]), text });
  const check = (toml: string, containerd?: string) => checkContainerdConfig(parseToml(toml) as Record<string, unknown>, 'c.toml', cfg, containerd ? v(containerd) : undefined);
  const v3 = containerdSnippet(cfg, 3, '2.1.9');
  t.match(v3, /^\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.switchyard-sandbox\]\n  runtime_type = "io\.containerd\.switchyard\.v2"\n  sandboxer = "shim"$/m, 'a switchyard-sandbox handler with sandboxer = "shim"');
  t.match(v3, /hostNetwork pod on this handler makes containerd itself panic/, 'with the 2.1 host-network warning');
  t.notMatch(containerdSnippet(cfg, 3, '2.3.0'), /panic/, 'no warning for a containerd that is fixed');
  t.notMatch(containerdSnippet(cfg, 2), /^\s*sandboxer = /m, 'no sandbox handler in the version-2 form (containerd 1.x)');
  const found = check(v3, '2.1.9');
  t.ok(found.some((f) => f.check === 'containerd runtime switchyard-sandbox' && f.ok && /sandboxer shim: pods without a pause container/.test(f.detail)), 'doctor: the sandbox handler is known');
  t.ok(found.some((f) => f.check === 'containerd runtime switchyard' && f.ok && /sandboxer podsandbox: a pause container per pod/.test(f.detail)), 'doctor: the podsandbox handler is known');
  t.match(found.filter((f) => !f.ok).map((f) => `${f.severity}: ${f.detail}`), [/^warning: containerd 2\.1\.9 panics on a hostNetwork pod/], 'doctor warns 2.1 users about host-network pods');
  t.same(check(containerdSnippet(cfg, 3, '2.3.0'), '2.3.0').filter((f) => !f.ok), [], 'nothing to warn about on 2.3');
  const old = check('version = 2\n' + v3.replace(/^version = 3$/m, '').replace(/'io\.containerd\.cri\.v1\.runtime'/g, '"io.containerd.grpc.v1.cri"'), '1.7.24');
  t.match(old.filter((f) => !f.ok).map((f) => f.detail), [/sandboxer = "shim" needs containerd 2\.x/], 'doctor: sandboxer on containerd 1.7 is an error');
  const typo = check(v3.replace('sandboxer = "shim"', 'sandboxer = "shmi"'), '2.1.9');
  t.match(typo.filter((f) => !f.ok).map((f) => f.detail), [/sandboxer "shmi" is neither/], 'doctor: an unknown sandboxer');
  // containerd 2.0-2.3.0 read a sandboxed task's runtime options as runc's (fixed in 2.3.1).
  const withOptions = (text: string) => `${text}  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.switchyard-sandbox.options]\n    ConfigPath = "/etc/switchyard/pods.toml"\n`;
  const optioned = (version: string) => check(withOptions(containerdSnippet(cfg, 3, version)), version).filter((f) => !f.ok && /options table/.test(f.detail));
  t.match(optioned('2.1.9').map((f) => `${f.severity}: ${f.check}: ${f.detail}`), [/^error: containerd runtime switchyard-sandbox: containerd 2\.1\.9 fails every StartContainer/], 'doctor: options on a sandbox handler break 2.1.9');
  t.equal(optioned('2.3.0').length, 1, 'and 2.3.0');
  t.same(optioned('2.3.1'), [], 'not 2.3.1');
  t.same(check(containerdSnippet(cfg, 3, '2.1.9'), '2.1.9').filter((f) => /options table/.test(f.detail)), [], 'a sandbox handler without options is fine');
  const podsandboxWithOptions = `${containerdSnippet(cfg, 3, '2.1.9')}[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.switchyard.options]\n  ConfigPath = "/etc/switchyard/a.toml"\n`;
  t.same(check(podsandboxWithOptions, '2.1.9').filter((f) => /options table/.test(f.detail)), [], 'options on a podsandbox handler are fine');
});

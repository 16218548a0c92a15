import t from 'tap';
import { age, table } from '../../src/cli/output.js';
import { parseSignal } from '../../src/cli/tasks.js';
import { containerdSnippet, RUNTIMECLASS } from '../../src/cli/node.js';
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

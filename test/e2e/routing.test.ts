/**
 * Routing bare tasks by annotation under node policy, through a private containerd with
 * ctr: runc by default, crun on request, runsc's exact argv (through a recording
 * stand-in), and every refusal with its code and words.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireCommands, requireE2E } from './lib/prereq.js';
import { RUNTIME, fixtureRuntime, switchyardContainerd } from './lib/switchyard.js';
import { importBusybox } from './lib/image.js';
import { tempDir } from '../helpers/tmp.js';

if (requireE2E(t) && requireCommands(t, ['crun', 'unshare'])) {
  const env = switchyardContainerd(t);
  const KEY = 'switchyard.dev/runtime';

  const run = (id: string, args: string[], opts: { annotation?: string; ns?: string; config?: string } = {}) =>
    env.c.ctr(
      [
        'run', '--rm',
        ...(opts.annotation !== undefined ? ['--annotation', `${KEY}=${opts.annotation}`] : []),
        ...(opts.config ? ['--runtime-config-path', opts.config] : []),
        '--runtime', RUNTIME, env.ref, id, ...args,
      ],
      { reject: false, timeoutMs: 60_000, namespace: opts.ns },
    );

  /** The decision the daemon recorded for a task (kept while the task exists). */
  const decisionFile = (ns: string, id: string) => path.join('/run/switchyard/decisions', ns, `${id}.json`);

  t.test('no annotation: runc; crun on request, through its own root', async (t) => {
    const plain = await run('plain', ['sh', '-c', 'echo on-default; exit 3']);
    t.equal(plain.stdout, 'on-default');
    t.equal(plain.exitCode, 3);

    env.c.addRuntimeRoot(path.join('/run/switchyard/crun', env.c.namespace));
    const p = env.c.ctrProcess(['run', '--rm', '--annotation', `${KEY}=crun`, '--runtime', RUNTIME, env.ref, 'oncrun', 'sh', '-c', 'echo on-crun; sleep 1000'], { reject: false });
    let listed = '';
    const end = Date.now() + 15_000;
    while (Date.now() < end && !listed.includes('oncrun')) {
      listed = fs.existsSync(path.join('/run/switchyard/crun', env.c.namespace, 'oncrun')) ? 'oncrun' : '';
      await new Promise((r) => setTimeout(r, 100));
    }
    t.ok(listed, 'the container lives under crun --root /run/switchyard/crun/<ns>');
    if (!listed) {
      p.kill();
      t.comment(JSON.stringify((await p).stderr));
      return;
    }
    const d = JSON.parse(fs.readFileSync(decisionFile(env.c.namespace, 'oncrun'), 'utf8'));
    t.match(d, { runtime: 'crun', inherited: false, inputs: { requested: 'crun', containerType: 'bare' } }, 'decision recorded');
    const rec = JSON.parse(fs.readFileSync(path.join(env.c.state, 'io.containerd.runtime.v2.task', env.c.namespace, 'oncrun', 'switchyard.json'), 'utf8'));
    t.equal(rec.runtime, 'crun');
    t.match(rec.decision, { runtime: 'crun' }, 'and written into the bundle');
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'oncrun']);
    const r = await p;
    t.equal(r.exitCode, 137);
    t.equal(r.stdout, 'on-crun');
    t.notOk(fs.existsSync(decisionFile(env.c.namespace, 'oncrun')), 'the decision goes with the task');
  });

  t.test('refusals: unknown runtime, missing binary, policy; nothing is downgraded', async (t) => {
    const unknown = await run('unk', ['true'], { annotation: 'nope' });
    t.not(unknown.exitCode, 0);
    t.match(unknown.stderr, /nope/);
    t.match(unknown.stderr, /runc/, 'lists the known runtimes');
    // ctr 1.x prints the code's words; ctr 2.x only the message (the code is checked
    // through CRI in cri/policy-matrix.test.ts).
    const codeWords = env.c.build.configVersion === 2;
    if (codeWords) t.match(unknown.stderr, /invalid argument/i);

    // runsc is predefined but not installed here.
    const missing = await run('miss', ['true'], { annotation: 'runsc' });
    t.not(missing.exitCode, 0);
    t.match(missing.stderr, /runsc/);
    if (codeWords) t.match(missing.stderr, /failed precondition/i);
    else t.match(missing.stderr, /is not installed/);

    // A node whose policy lets this containerd namespace run only runc.
    const dir = tempDir(t);
    const ns = env.c.newNamespace('pol');
    await importBusybox(env.c, ns);
    const config = path.join(dir, 'config.toml');
    fs.writeFileSync(config, [
      '[policy]',
      'isolation = [["runc", "crun"], "runsc"]',
      '[[policy.rules]]',
      'name = "locked"',
      `containerd_namespaces = ["${ns}"]`,
      'allow = ["runc"]',
      '',
    ].join('\n'));
    const ok = await run('pol-ok', ['echo', 'allowed'], { ns, config });
    t.equal(ok.stdout, 'allowed');
    const refused = await run('pol-no', ['echo', 'never'], { ns, config, annotation: 'crun' });
    t.not(refused.exitCode, 0);
    t.notMatch(refused.stdout, /never/, 'the container never ran');
    // containerd 1.6's errdefs has no PermissionDenied: ctr shows the words, not the code
    // (the code itself is checked in test/routing and test/errors).
    t.match(refused.stderr, /runtime "crun" refused/);
    t.match(refused.stderr, /locked/, 'names the rule');
  });

  t.test('runsc flavour: the exact argv (recorded by a stand-in), sandbox by default', async (t) => {
    const { dir, binary: standin, ns, root, config } = await fixtureRuntime(t, env.c, { fixture: 'runsc-standin.sh', binary: 'runsc', nsPrefix: 'gv', rootName: 'state' });
    fs.writeFileSync(config, ['[runtimes.gvisor]', `binary = "${standin}"`, 'flavour = "runsc"', `root = "${root}"`, 'args = ["--platform=systrap"]', ''].join('\n'));
    const r = await run('gv1', ['sh', '-c', 'echo in-gvisor; exit 5'], { ns, config, annotation: 'gvisor' });
    // ctr's stderr in the messages: a failed run must say why (a CI run once failed here unexplained).
    t.equal(r.stdout, 'in-gvisor', `the container's output (ctr said: ${r.stderr})`);
    t.equal(r.exitCode, 5, `the exit status; the stand-in refuses wait: the reaper has it (ctr said: ${r.stderr})`);
    const log = path.join(dir, 'argv.log');
    if (!fs.existsSync(log)) return t.fail(`the stand-in was never run (ctr said: ${r.stderr})`);
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    const g = `--root=${root}/${ns} --log=`;
    const create = calls.find((c) => c.includes(' create '));
    t.ok(create?.startsWith(g), `global flags first, runsc style: ${create}`);
    t.match(create, / --log-format=json --platform=systrap create --bundle \S+\/gv1 --pid-file \S+\/gv1\/init\.pid gv1$/);
    t.ok(calls.some((c) => / --platform=systrap start gv1$/.test(c)), 'start');
    t.ok(calls.some((c) => / --platform=systrap wait gv1$/.test(c)), 'the exit is asked of runsc wait first');
    t.ok(calls.some((c) => / delete --force gv1$/.test(c)), 'delete');

    // The other operations on a long-running task.
    await env.c.ctr(['run', '-d', '--annotation', `${KEY}=gvisor`, '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, 'gv2', 'sleep', '1000'], { namespace: ns });
    const ex = await env.c.ctr(['task', 'exec', '--exec-id', 'x1', 'gv2', 'echo', 'exec-ok'], { namespace: ns, reject: false });
    t.equal(ex.stdout, 'exec-ok');
    await env.c.ctr(['task', 'ps', 'gv2'], { namespace: ns });
    await env.c.ctr(['task', 'pause', 'gv2'], { namespace: ns });
    await env.c.ctr(['task', 'resume', 'gv2'], { namespace: ns });
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'gv2'], { namespace: ns });
    const end = Date.now() + 10_000;
    while (Date.now() < end && !(await env.c.ctr(['task', 'ls'], { namespace: ns })).stdout.includes('STOPPED')) await new Promise((r) => setTimeout(r, 100));
    await env.c.ctr(['task', 'delete', 'gv2'], { namespace: ns });
    await env.c.ctr(['container', 'delete', 'gv2'], { namespace: ns });
    const all = fs.readFileSync(path.join(dir, 'argv.log'), 'utf8').trim().split('\n');
    const g2 = `--root=${root}/${ns} --log=`;
    const ops: [string, RegExp][] = [
      ['exec', / --platform=systrap exec --process \S+\.json --detach --pid-file \S+\.pid gv2$/],
      ['ps', / --platform=systrap ps --format json gv2$/],
      ['pause', / --platform=systrap pause gv2$/],
      ['resume', / --platform=systrap resume gv2$/],
      ['kill', / --platform=systrap kill gv2 9$/],
      ['delete', / --platform=systrap delete --force gv2$/],
    ];
    for (const [name, re] of ops) {
      const line = all.find((c) => re.test(c));
      t.ok(line?.startsWith(g2), `${name}: ${line ?? '(not called)'}`);
    }
  });
}

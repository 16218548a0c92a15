/**
 * The daemon's log outlives it: after the daemon idles out, `switchyard logs ID` still
 * prints the task's lines, and a refused call is among them with its method, task, code
 * and message.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { requireE2E } from '../lib/prereq.js';
import { repoRoot } from '../lib/image.js';
import { RUNTIME, switchyardContainerd } from '../lib/switchyard.js';
import { resizePty } from '../lib/tasks-api.js';
import { waitFor } from '../lib/wait.js';
import { tempDir } from '../../helpers/tmp.js';

if (requireE2E(t)) {
  const env = switchyardContainerd(t);

  t.test('after an idle exit: the log is kept, read by switchyard logs, refusals in it', async (t) => {
    const dir = tempDir(t);
    const config = path.join(dir, 'config.toml');
    const state = path.join(dir, 'state');
    fs.writeFileSync(config, `idle_timeout = "1s"\nstate_dir = ${JSON.stringify(state)}\nruntime_root = ${JSON.stringify(path.join(dir, 'runc'))}\n`);
    env.c.addRuntimeRoot(path.join(dir, 'runc', env.c.namespace));
    await env.c.ctr(['run', '-d', '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, 'lg1', 'sleep', '1000']);
    t.ok(await waitFor(async () => /lg1\s+\d+\s+RUNNING/.test((await env.c.ctr(['task', 'ls'])).stdout)), 'running');
    // Refused by us (InvalidArgument): containerd's caller sees it, and so must the operator.
    await t.rejects(resizePty(env.c.address, env.c.namespace, 'lg1', '', 0, 0), /out of range/);
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', 'lg1']);
    t.ok(await waitFor(async () => /lg1\s+\d+\s+STOPPED/.test((await env.c.ctr(['task', 'ls'])).stdout)), 'stopped');
    await env.c.ctr(['task', 'delete', 'lg1']);
    await env.c.ctr(['container', 'delete', 'lg1']);

    const daemons = path.join(state, 'daemons');
    t.ok(await waitFor(() => !fs.existsSync(daemons) || fs.readdirSync(daemons).length === 0, 20_000), 'the daemon idled out and removed its directory');
    const logs = fs.readdirSync(path.join(state, 'logs')).filter((n) => n.endsWith('.log'));
    t.equal(logs.length, 1, 'one log kept in <state_dir>/logs');
    const text = fs.readFileSync(path.join(state, 'logs', logs[0]!), 'utf8');
    t.match(text, /"why":"idle".*"msg":"daemon exiting"|"msg":"daemon exiting".*"why":"idle"/, 'down to the daemon leaving');

    const cli = (args: string[]) =>
      execa(process.execPath, [path.join(repoRoot(), 'bin', 'switchyard.js'), ...args, '--config', config], { reject: false, env: { PATH: process.env.PATH! }, extendEnv: false, timeout: 60_000, stdin: 'ignore' });
    const json = await cli(['logs', 'lg1', '--json']);
    t.equal(json.exitCode, 0, json.stderr);
    const lines = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    t.ok(lines.some((l) => /started/.test(String(l.msg))), 'the task start is still there');
    t.match(
      lines.find((l) => l.msg === 'call refused'),
      { method: 'ResizePty', task: 'lg1', code: 'InvalidArgument', message: /out of range/ },
      'the refused ResizePty, with method, task, code and message',
    );
    const plain = await cli(['logs', 'lg1']);
    t.match(plain.stdout, /call refused method=ResizePty .*code=InvalidArgument/, 'the same in the human form');
  });
}

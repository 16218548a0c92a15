/**
 * Real gVisor (Debian's runsc) through Switchyard under a private containerd, driven with
 * ctr: everything a task does on runc, done in a gVisor sandbox. runsc runs with
 * network = "host" inside the task's own network namespace (see README: on this kernel
 * runsc 20240729 cannot use its own network stack, gVisor issue 10704).
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from './lib/prereq.js';
import { RUNTIME, shimCallCodes, switchyardContainerd } from './lib/switchyard.js';
import { Code } from '../../src/errors/index.js';
import { importBusybox } from './lib/image.js';
import { mountsUnder } from './lib/cleanup.js';
import { gvisorProcesses, requireRunsc, runscConfig, runscVersion } from './lib/runsc.js';
import { spawnOnPty } from './lib/pty.js';
import { updateTask } from './lib/tasks-api.js';
import { waitFor } from './lib/wait.js';

const runsc = requireE2E(t) ? requireRunsc(t) : undefined;
if (runsc) {
  const env = switchyardContainerd(t);
  const KEY = 'switchyard.dev/runtime';
  const g = { ns: '', root: '', config: '' };

  t.before(async () => {
    g.ns = env.c.newNamespace('gv');
    await importBusybox(env.c, g.ns);
    // Under containerd's temp dir: the e2e cleanup kills whatever names it and removes it.
    g.root = path.join(env.c.dir, 'runsc-root');
    g.config = path.join(env.c.dir, 'switchyard-runsc.toml');
    fs.writeFileSync(g.config, runscConfig({ binary: runsc, root: g.root }));
    t.comment(`runsc ${runscVersion(runsc)}`);
  });

  const ctr = (args: string[], o: { reject?: boolean; timeoutMs?: number; input?: string } = {}) =>
    env.c.ctr(args, { namespace: g.ns, reject: o.reject ?? false, timeoutMs: o.timeoutMs ?? 60_000, input: o.input });
  const runArgs = (flags: string[], id: string, args: string[]) => [
    'run', ...flags, '--annotation', `${KEY}=runsc`, '--runtime-config-path', g.config, '--runtime', RUNTIME, env.ref, id, ...args,
  ];

  const tasks = async () => {
    const out: Record<string, { pid: number; status: string }> = {};
    for (const line of (await ctr(['tasks', 'ls'])).stdout.split('\n').slice(1)) {
      const [id, pid, status] = line.trim().split(/\s+/);
      if (id) out[id] = { pid: Number(pid), status: status ?? '' };
    }
    return out;
  };
  const runDetached = async (t: Test, id: string, args: string[], flags: string[] = []) => {
    const r = await ctr(runArgs(['-d', ...flags], id, args));
    t.equal(r.exitCode, 0, `run -d ${id}: ${r.stderr}`);
    t.ok(await waitFor(async () => (await tasks())[id]?.status === 'RUNNING', 20_000), `${id} running`);
  };
  const remove = async (id: string) => {
    await ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
    await waitFor(async () => (await tasks())[id]?.status !== 'RUNNING', 20_000);
    await ctr(['tasks', 'delete', id]);
    await ctr(['containers', 'delete', id]);
  };
  const bundle = (id: string) => path.join(env.c.state, 'io.containerd.runtime.v2.task', g.ns, id);
  /** The sandbox processes (runsc-sandbox, runsc-gofer) serving container `id`. */
  const sandboxOf = (id: string) => gvisorProcesses(g.root).filter((p) => p.cmdline.some((a) => a.includes(`/${id}`) || a === id));

  const withEvents = async (fn: () => Promise<void>, until: RegExp) => {
    const ev = env.c.ctrProcess(['events'], { reject: false, timeoutMs: 120_000, namespace: g.ns });
    let text = '';
    ev.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    try {
      await fn();
      await waitFor(() => until.test(text), 15_000);
    } finally {
      ev.kill();
      await ev.catch(() => undefined);
    }
    return text.split('\n').filter(Boolean);
  };

  t.test('run in gVisor: its kernel, exit code, stdout and stderr apart', async (t) => {
    const r = await ctr(runArgs(['--rm'], 'hello', ['sh', '-c', 'dmesg | head -n 1; uname -r; echo to-stderr >&2; exit 5']));
    t.match(r.stdout, /^\[\s*[\d.]+\] Starting gVisor\.\.\.$/m, `dmesg: ${r.stdout}`);
    t.match(r.stdout, /^4\.4\.0$/m, "gVisor's own kernel version, not the host's");
    t.equal(r.stderr.trim(), 'to-stderr', 'stderr on its own stream');
    t.equal(r.exitCode, 5);
    t.equal(sandboxOf('hello').length, 0, 'the sandbox is gone with the task');
  });

  t.test('stdin, and CloseIO ends cat: for the init and for an exec', async (t) => {
    const p = env.c.ctrProcess(runArgs(['--rm'], 'cati', ['cat']), { namespace: g.ns, reject: false, timeoutMs: 60_000, stdin: 'pipe' });
    t.ok(await waitFor(async () => (await tasks()).cati?.status === 'RUNNING', 20_000), 'cat running');
    p.stdin!.end('line one\nline two\n');
    const r = await p;
    t.equal(r.stdout, 'line one\nline two');
    t.equal(r.exitCode, 0, 'cat saw EOF');
    await runDetached(t, 'catx', ['sleep', '1000']);
    const x = env.c.ctrProcess(['task', 'exec', '--exec-id', 'c1', 'catx', 'cat'], { namespace: g.ns, reject: false, timeoutMs: 30_000, stdin: 'pipe' });
    // runsc ps lists the sandbox's own pids, without exec ids: a third line is the exec.
    t.ok(await waitFor(async () => (await ctr(['task', 'ps', 'catx'])).stdout.trim().split('\n').length > 2, 20_000), 'exec running');
    x.stdin!.end('via exec\n');
    const xr = await x;
    t.equal(xr.stdout, 'via exec');
    t.equal(xr.exitCode, 0);
    await remove('catx');
  });

  t.test('signals: a trapped SIGTERM exits 3; SIGKILL is 137', async (t) => {
    const w = ctr(runArgs(['--rm'], 'sig', ['sh', '-c', 'trap "exit 3" TERM; while true; do usleep 50000; done']));
    t.ok(await waitFor(async () => (await tasks()).sig?.status === 'RUNNING', 20_000));
    await new Promise((r) => setTimeout(r, 300));
    await ctr(['task', 'kill', '--signal', 'SIGTERM', 'sig'], { reject: true });
    t.equal((await w).exitCode, 3, 'the trap ran: exit 3');
    const k = ctr(runArgs(['--rm'], 'sigk', ['sleep', '1000']));
    t.ok(await waitFor(async () => (await tasks()).sigk?.status === 'RUNNING', 20_000));
    await ctr(['task', 'kill', '--signal', 'SIGKILL', 'sigk'], { reject: true });
    t.equal((await k).exitCode, 137);
  });

  t.test('exec: output, exit code, ps; pause refuses exec, resume', async (t) => {
    await runDetached(t, 'ex', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; usleep 20000; done']);
    const r = await ctr(['task', 'exec', '--exec-id', 'e1', 'ex', 'sh', '-c', 'echo hi; dmesg | head -n 1; exit 4']);
    t.match(r.stdout, /^hi\n.*Starting gVisor/, 'an exec runs in the same sandbox');
    t.equal(r.exitCode, 4);
    const ps = await ctr(['task', 'ps', 'ex'], { reject: true });
    t.ok(ps.stdout.trim().split('\n').length >= 2, `ps lists the processes:\n${ps.stdout}`);
    const count = async () => Number((await ctr(['task', 'exec', '--exec-id', `c${Date.now()}`, 'ex', 'cat', '/tmp/count'])).stdout || 0);
    const lines = await withEvents(async () => {
      await ctr(['task', 'pause', 'ex'], { reject: true });
      t.equal((await tasks()).ex?.status, 'PAUSED');
      const no = await ctr(['task', 'exec', '--exec-id', 'no', 'ex', 'true']);
      t.not(no.exitCode, 0, 'no exec into a paused sandbox');
      t.match(no.stderr, /paused/, `says why: ${no.stderr}`);
      await ctr(['task', 'resume', 'ex'], { reject: true });
      t.equal((await tasks()).ex?.status, 'RUNNING');
    }, /\/tasks\/resumed/);
    const topics = lines.filter((l) => l.includes('ex')).map((l) => /\/tasks\/(paused|resumed)/.exec(l)?.[0]).filter(Boolean);
    t.same(topics, ['/tasks/paused', '/tasks/resumed']);
    const a = await count();
    t.ok(await waitFor(async () => (await count()) > a + 3), 'the counter moves after resume');
    await remove('ex');
  });

  t.test('TTY: run -t and exec -t take the terminal size and give the exit code', async (t) => {
    const run = spawnOnPty(env.c.ctrCommand(runArgs(['-t', '--rm'], 'tty1', ['sh']), { namespace: g.ns }), { rows: 33, cols: 111 });
    t.teardown(() => run.close());
    await run.waitFor(/# /, 30_000);
    run.write('stty size\r');
    await run.waitFor(/33 111/);
    const ex = spawnOnPty(env.c.ctrCommand(['task', 'exec', '-t', '--exec-id', 'tx', 'tty1', 'sh'], { namespace: g.ns }), { rows: 20, cols: 70 });
    t.teardown(() => ex.close());
    await ex.waitFor(/# /, 30_000);
    ex.write('stty size\r');
    await ex.waitFor(/20 70/);
    ex.write('exit 5\r');
    t.equal(await ex.exited, 5, 'exec -t exit code');
    run.write('exit 4\r');
    t.equal(await run.exited, 4, 'run -t exit code');
  });

  t.test('metrics from the sandbox cgroup; Update sets its memory limit', async (t) => {
    await runDetached(t, 'mt', ['sh', '-c', 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 1000']);
    await new Promise((r) => setTimeout(r, 500));
    const m = await ctr(['task', 'metrics', 'mt'], { reject: true });
    const value = (name: string) => Number(new RegExp(`^${name.replace(/\./g, '\\.')}\\s+(\\d+)`, 'm').exec(m.stdout)?.[1] ?? 0);
    t.ok(value('cpuacct.usage') > 0, `CPU usage > 0:\n${m.stdout}`);
    t.ok(value('memory.usage_in_bytes') > 0, 'memory usage > 0');
    await updateTask(env.c.address, g.ns, 'mt', { memory: { limit: 96 << 20 } }).catch((e: Error) => t.fail(`update: ${e.message}`));
    const file = path.join('/sys/fs/cgroup/memory', g.ns, 'mt', 'memory.limit_in_bytes');
    t.equal(Number(fs.readFileSync(file, 'utf8').trim()), 96 << 20, 'the sandbox cgroup has the new limit');
    await remove('mt');
  });

  t.test('OOM: a 32 MiB sandbox that allocates more exits 137, /tasks/oom before /tasks/exit', async (t) => {
    let r: Awaited<ReturnType<typeof ctr>> | undefined;
    const lines = await withEvents(async () => {
      r = await ctr(runArgs(['--rm', '--memory-limit', String(32 << 20)], 'oom', ['tail', '/dev/zero']), { timeoutMs: 90_000 });
    }, /\/tasks\/delete/);
    t.equal(r!.exitCode, 137);
    const topics = lines.map((l) => /\/tasks\/[a-z-]+/.exec(l)?.[0]);
    t.ok(topics.includes('/tasks/oom'), `an oom event: ${topics.join(' ')}`);
    t.ok(topics.indexOf('/tasks/oom') < topics.indexOf('/tasks/exit'), 'oom before exit');
  });

  t.test('a start that fails leaves nothing: no stuck task, no runsc state, no sandbox, no mount', async (t) => {
    // runsc creates the sandbox, then its start fails: the binary does not exist.
    const r = await ctr(runArgs(['--rm'], 'nostart', ['/no/such/binary']));
    t.not(r.exitCode, 0);
    t.match(r.stderr, /runsc start: .*\/no\/such\/binary/, `runsc's words reach ctr: ${r.stderr}`);
    t.ok(await waitFor(() => sandboxOf('nostart').length === 0, 10_000), 'no runsc-sandbox or runsc-gofer left');
    t.notOk(fs.readdirSync(path.join(g.root, g.ns)).some((f) => f.startsWith('nostart')), 'no runsc state left');
    // ctr run leaves the task (created) to its client: it is killable and deletable.
    const ls = (await tasks()).nostart;
    if (ls) {
      const k = await ctr(['task', 'kill', '--signal', 'SIGKILL', 'nostart']);
      t.ok(k.exitCode === 0 || /not found|finished/.test(k.stderr), `kill: ${k.stderr}`);
      const d = await ctr(['task', 'delete', 'nostart']);
      t.equal(d.exitCode, 0, `delete: ${d.stderr}`);
    }
    await ctr(['container', 'delete', 'nostart']);
    t.notOk((await tasks()).nostart, 'no task');
    t.equal(mountsUnder(bundle('nostart')).length, 0, 'no mount');
  });

  t.test('kill of a paused and of a stopped task (runsc refuses to signal a paused one)', async (t) => {
    await runDetached(t, 'kp', ['sleep', '1000']);
    await ctr(['task', 'pause', 'kp'], { reject: true });
    const k = await ctr(['task', 'kill', '--signal', 'SIGKILL', 'kp']);
    t.equal(k.exitCode, 0, `SIGKILL on a paused sandbox: ${k.stderr}`);
    t.ok(await waitFor(async () => (await tasks()).kp?.status === 'STOPPED', 20_000), 'it stops');
    const again = await ctr(['task', 'kill', '--signal', 'SIGKILL', 'kp']);
    t.match(again.stderr, /not found|finished/, 'a stopped one says it is finished');
    await ctr(['task', 'delete', 'kp'], { reject: true });
    await ctr(['container', 'delete', 'kp']);
    t.equal(sandboxOf('kp').length, 0, 'its sandbox is gone when delete returns');
  });

  t.test('network = "sandbox" on this kernel: Create refused, saying what to change', async (t) => {
    const config = path.join(env.c.dir, 'switchyard-runsc-netstack.toml');
    fs.writeFileSync(config, runscConfig({ name: 'gvnet', binary: runsc, root: g.root, flags: { network: 'sandbox' } }));
    const r = await ctr(['run', '--rm', '--annotation', `${KEY}=gvnet`, '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, 'netstack', 'true']);
    t.not(r.exitCode, 0);
    if (/cannot run its own network stack/.test(r.stderr)) {
      t.match(r.stderr, /gVisor issue 10704/, `names the cause: ${r.stderr}`);
      t.match(r.stderr, /set network = "host".*runtimes\.gvnet\.runsc_config/, 'and what to change');
      t.ok((await shimCallCodes(env.c, g.ns, 'netstack')).some((c) => c.method === 'Create' && c.code === Code.FailedPrecondition), 'answered FailedPrecondition');
    } else {
      t.fail(`expected the netstack refusal on this kernel: ${r.stderr}`);
    }
    t.equal(sandboxOf('netstack').length, 0, 'runsc never ran');
    await ctr(['container', 'delete', 'netstack']);
    // A host-network task under "sandbox" is refused for its own reason.
    const h = await ctr(['run', '--rm', '--net-host', '--annotation', `${KEY}=gvnet`, '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, 'hostnet', 'true']);
    t.match(h.stderr, /host's network cannot run with runsc network = "sandbox"/, `host network: ${h.stderr}`);
    await ctr(['container', 'delete', 'hostnet']);
  });

  t.test('checkpoint: refused on the host network stack; with network = "none", runsc checkpoint writes the image', async (t) => {
    await runDetached(t, 'cph', ['sleep', '1000']);
    const refused = await ctr(['task', 'checkpoint', 'cph'], { timeoutMs: 90_000 });
    t.not(refused.exitCode, 0);
    t.match(refused.stderr, /cannot checkpoint a sandbox on the host kernel's network stack.*network = "none"/, `says why: ${refused.stderr}`);
    t.ok((await shimCallCodes(env.c, g.ns, 'cph')).some((c) => c.method === 'Checkpoint' && c.code === Code.FailedPrecondition), 'answered FailedPrecondition');
    t.equal((await tasks()).cph?.status, 'RUNNING', 'the task runs on');
    await remove('cph');

    const config = path.join(env.c.dir, 'switchyard-runsc-none.toml');
    fs.writeFileSync(config, runscConfig({ name: 'gvnone', binary: runsc, root: g.root, flags: { network: 'none' } }));
    const d = await ctr(['run', '-d', '--annotation', `${KEY}=gvnone`, '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, 'cpn', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; usleep 50000; done']);
    t.equal(d.exitCode, 0, d.stderr);
    t.ok(await waitFor(async () => (await tasks()).cpn?.status === 'RUNNING', 20_000));
    const r = await ctr(['task', 'checkpoint', 'cpn'], { timeoutMs: 90_000 });
    t.equal(r.exitCode, 0, `checkpoint: ${r.stderr}`);
    t.match(r.stdout, /^containerd\.io\/checkpoint\/cpn:/, `the checkpoint image: ${r.stdout}`);
    t.equal((await tasks()).cpn?.status, 'RUNNING', 'left running');
    await remove('cpn');
  });

  t.test('restore: a container checkpointed by runsc comes back from its image and goes on counting', async (t) => {
    const config = path.join(env.c.dir, 'switchyard-runsc-none.toml');
    fs.writeFileSync(config, runscConfig({ name: 'gvnone', binary: runsc, root: g.root, flags: { network: 'none' } }));
    const d = await ctr(['run', '-d', '--annotation', `${KEY}=gvnone`, '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, 'rst', 'sh', '-c', 'born=$(date +%s%N); i=0; while true; do i=$((i+1)); echo "$born $i" > /tmp/count; usleep 50000; done']);
    t.equal(d.exitCode, 0, d.stderr);
    t.ok(await waitFor(async () => (await tasks()).rst?.status === 'RUNNING', 20_000));
    await new Promise((r) => setTimeout(r, 500));
    const image = 'switchyard.test/checkpoint/rst:1';
    const c = await ctr(['container', 'checkpoint', '--task', 'rst', image], { timeoutMs: 90_000 });
    t.equal(c.exitCode, 0, `container checkpoint: ${c.stderr}`);
    const read = async (exec: string) => {
      const [born, i] = (await ctr(['task', 'exec', '--exec-id', exec, 'rst', 'cat', '/tmp/count'])).stdout.trim().split(' ');
      return { born, i: Number(i) };
    };
    const before = await read('r1');
    await remove('rst');
    const r = await ctr(['container', 'restore', '--live', 'rst', image], { timeoutMs: 90_000 });
    t.equal(r.exitCode, 0, `container restore --live: ${r.stderr}`);
    t.ok(await waitFor(async () => (await tasks()).rst?.status === 'RUNNING', 30_000), 'the restored task runs');
    await new Promise((res) => setTimeout(res, 500));
    const after = await read('r2');
    // A fresh start would have a new birth time in its shell variable; a restore has the old one.
    t.equal(after.born, before.born, "the shell's memory came back, not a new start");
    t.ok(after.i > 0, `and it goes on counting (${before.i} before the checkpoint was read, ${after.i} after restore)`);
    await remove('rst');
    await ctr(['image', 'rm', image]);
  });
}

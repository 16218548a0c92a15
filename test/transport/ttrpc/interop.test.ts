/**
 * Interop with Go ttrpc, using Debian's binaries: our client against a real
 * containerd-shim-runc-v2, and containerd's own debug client (`ctr shim`) against our server.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { TtrpcClient } from '../../../src/transport/ttrpc/client.js';
import { TtrpcServer } from '../../../src/transport/ttrpc/server.js';
import { taskServiceV2 } from '../../../src/api/task.js';
import { socketAddress, socketPath } from '../../../src/shim/address.js';
import { Code } from '../../../src/errors/index.js';
import { fakeTask } from '../fake-task.js';
import { tempDir } from '../../helpers/tmp.js';
import { requireCommands } from '../../e2e/lib/prereq.js';

const run = promisify(execFile);
const cleanEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('our client against containerd-shim-runc-v2', async (t) => {
  if (!requireCommands(t, ['containerd-shim-runc-v2'], { root: true })) return;
  const dir = tempDir(t);
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations: {} }));
  // containerd makes the shim's log fifo and holds it open before `start`; the Go daemon
  // exits at once without it.
  spawnSync('mkfifo', ['-m', '0700', path.join(bundle, 'log')]);
  const logFd = fs.openSync(path.join(bundle, 'log'), fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(logFd));
  const address = path.join(dir, 'containerd.sock');
  const ns = `interop${process.pid}`;
  const id = 'gotask';
  const starting = run(
    'containerd-shim-runc-v2',
    ['-namespace', ns, '-id', id, '-address', address, '-publish-binary', '/usr/bin/containerd', 'start'],
    { cwd: bundle, env: { ...cleanEnv, TTRPC_ADDRESS: `${address}.ttrpc` } },
  );
  // `start` reads runtime options from stdin until EOF; containerd gives it none here.
  starting.child.stdin?.end();
  const { stdout } = await starting;
  const printed = stdout.trim();
  t.equal(printed, socketAddress(address, ns, id), 'our socket address convention matches the Go shim');
  t.teardown(() => fs.rmSync(socketPath(address, ns, id), { force: true }));

  const client = await TtrpcClient.connect(printed);
  t.teardown(() => client.close());
  const task = client.service(taskServiceV2);
  const conn = await task.Connect({ id }, { timeoutMs: 5000 });
  t.ok(conn.shimPid > 0, `Connect returns the shim pid ${conn.shimPid}`);
  t.teardown(() => {
    if (alive(conn.shimPid)) process.kill(conn.shimPid, 'SIGKILL');
  });
  t.ok(alive(conn.shimPid), 'that pid is a live process');
  await t.rejects(task.State({ id: 'no-such-task' }), { code: Code.NotFound }, 'State of an unknown id is NotFound');
  await task.Shutdown({ id }).catch((err: { code?: number }) => {
    // The Go shim may exit before its reply leaves: a closed connection counts as success.
    if (err.code !== Code.Unavailable) throw err;
  });
  for (let i = 0; i < 100 && alive(conn.shimPid); i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk(alive(conn.shimPid), 'Shutdown ended the shim');
});

t.test('ctr shim (Go ttrpc client) against our server', async (t) => {
  if (!requireCommands(t, ['ctr'], { root: true })) return;
  const dir = tempDir(t);
  const address = path.join(dir, 'containerd.sock');
  const ns = `interop${process.pid}`;
  const id = 'ourtask';
  const sock = socketPath(address, ns, id);
  fs.mkdirSync(path.dirname(sock), { recursive: true });
  const server = new TtrpcServer();
  server.addService(taskServiceV2, fakeTask());
  await server.listen(sock);
  t.teardown(async () => {
    await server.close();
    fs.rmSync(sock, { force: true });
  });
  const { stdout } = await run('ctr', ['--address', address, '-n', ns, 'shim', '--id', id, 'state'], { env: cleanEnv });
  const state = JSON.parse(stdout);
  t.match(state, { id, bundle: '/b', pid: 42, status: 2 }, `ctr printed our answer: ${stdout.trim()}`);
  // Asynchronously: our server answers from this same event loop.
  const r = await run('ctr', ['--address', address, '-n', ns, 'shim', '--id', id, 'delete'], { env: cleanEnv }).then(
    (ok) => ({ status: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ status: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
  t.not(r.status, 0, 'an Unimplemented method fails in ctr');
  t.match(r.stdout + r.stderr, /Unimplemented/, `ctr reports the code: ${(r.stdout + r.stderr).trim()}`);
});

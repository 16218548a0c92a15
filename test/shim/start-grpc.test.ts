/**
 * protocol = "grpc": `start` prints the JSON bootstrap and the daemon it spawns serves Task
 * v3 over gRPC. No containerd >= 1.7 can be installed here, so a grpc-js client plays it.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GrpcClient } from '../../src/transport/grpc/client.js';
import { taskServiceV3 } from '../../src/api/task.js';
import { Code } from '../../src/errors/index.js';
import { repoRoot } from '../e2e/lib/image.js';
import { needsRoot } from '../helpers/root.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

t.test('start with protocol = "grpc" spawns a gRPC daemon that serves Task v3', { skip: needsRoot('start binds the daemon socket under /run/containerd/s') }, async (t) => {
  const dir = tempDir(t);
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), '{"annotations":{}}');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(config, `protocol = "grpc"\nidle_timeout = "500ms"\nstate_dir = "${dir}/state"\n`);
  const ns = `grpc${process.pid}`;
  const starting = run(
    process.execPath,
    [path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs'), '-namespace', ns, '-id', 'g1', '-address', path.join(dir, 'c.sock'), '-publish-binary', '/bin/true', 'start'],
    { cwd: bundle, env: { PATH: process.env.PATH, SWITCHYARD_CONFIG: config, TTRPC_ADDRESS: path.join(dir, 'c.sock.ttrpc') } },
  );
  starting.child.stdin?.end();
  const { stdout } = await starting;
  const boot = JSON.parse(stdout) as { version: number; address: string; protocol: string };
  t.match(boot, { version: 3, protocol: 'grpc' }, stdout);
  t.ok(path.isAbsolute(boot.address), 'a bare absolute path, as containerd dials gRPC shims');
  t.equal(fs.readFileSync(path.join(bundle, 'address'), 'utf8'), stdout, 'the same answer is in <bundle>/address');
  const client = new GrpcClient(boot.address);
  t.teardown(() => client.close());
  const task = client.service(taskServiceV3);
  const conn = await task.Connect({ id: 'g1' }, { timeoutMs: 5000 });
  t.ok(conn.shimPid > 0, 'Connect over gRPC answers with the daemon pid');
  t.teardown(() => {
    try {
      process.kill(conn.shimPid, 'SIGKILL');
    } catch {
      // it exited, as it should
    }
    fs.rmSync(boot.address, { force: true });
  });
  await t.rejects(task.State({ id: 'nope' }), { code: Code.NotFound });
  await task.Shutdown({ id: 'g1' });
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    await new Promise((r) => setTimeout(r, 50));
    gone = !fs.existsSync(`/proc/${conn.shimPid}`) || fs.readFileSync(`/proc/${conn.shimPid}/stat`, 'utf8').includes(') Z');
  }
  t.ok(gone, 'with no task left, the daemon exits after its idle time');
});

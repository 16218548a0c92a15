/**
 * protocol = "grpc": `start` prints the JSON bootstrap and the daemon it spawns serves Task
 * v3 over gRPC. A grpc-js client plays containerd here; containerd 1.7 itself drives it in
 * test/e2e/bootstrap.test.ts and test/e2e/cri/bootstrap.test.ts.
 */
import t, { type Test } from 'tap';
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

/** A bundle and a config that asks for gRPC, under a temp dir of the test's. */
function grpcSetup(t: Test) {
  const dir = tempDir(t);
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), '{"annotations":{}}');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(config, `protocol = "grpc"\nidle_timeout = "500ms"\nstate_dir = "${dir}/state"\n`);
  return { dir, bundle, config };
}

t.test('start with protocol = "grpc" spawns a gRPC daemon that serves Task v3', { skip: needsRoot('start binds the daemon socket under /run/containerd/s') }, async (t) => {
  const { dir, bundle, config } = grpcSetup(t);
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
  t.same(
    JSON.parse(fs.readFileSync(path.join(bundle, 'address'), 'utf8')),
    { ...boot, version: 2 },
    '<bundle>/address holds the version-2 form containerd 1.7 reads back (2.x keeps bootstrap.json)',
  );
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

/** A stand-in for containerd's binary that only answers --version, as -publish-binary. */
function fakeContainerd(dir: string, line: string): string {
  const bin = path.join(dir, 'containerd');
  fs.writeFileSync(bin, `#!/bin/sh\necho '${line}'\n`, { mode: 0o755 });
  return bin;
}

t.test('gRPC answers by the containerd that asks: version 2 for 1.7, refused for 1.6', async (t) => {
  const { dir, bundle, config } = grpcSetup(t);
  const start = async (publishBinary: string) => {
    const p = run(
      process.execPath,
      [path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs'), '-namespace', `grpcv${process.pid}`, '-id', 'g2', '-address', path.join(dir, 'c.sock'), '-publish-binary', publishBinary, 'start'],
      { cwd: bundle, env: { PATH: process.env.PATH, SWITCHYARD_CONFIG: config, TTRPC_ADDRESS: path.join(dir, 'c.sock.ttrpc') } },
    );
    p.child.stdin?.end();
    return p.then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
  };
  const d16 = path.join(dir, '16');
  fs.mkdirSync(d16);
  const r16 = await start(fakeContainerd(d16, 'containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3'));
  t.equal(r16.code, 1);
  t.match(r16.out, /containerd 1\.6\.20~ds1 cannot use a gRPC shim \(1\.7 or later can\): set protocol = "ttrpc"/);
  t.notOk(fs.existsSync(path.join(bundle, 'address')), 'refused before any daemon or address');

  const d17 = path.join(dir, '17');
  fs.mkdirSync(d17);
  const r17 = await start(fakeContainerd(d17, 'containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+deb13u1'));
  t.equal(r17.code, 0, r17.out);
  const boot = JSON.parse(r17.out) as { version: number; address: string };
  t.match(boot, { version: 2, protocol: 'grpc' });
  const client = new GrpcClient(boot.address);
  const task = client.service(taskServiceV3);
  const conn = await task.Connect({ id: 'g2' }, { timeoutMs: 5000 });
  t.teardown(() => {
    client.close();
    try {
      process.kill(conn.shimPid, 'SIGKILL');
    } catch {}
    fs.rmSync(boot.address, { force: true });
  });
  t.ok(conn.shimPid > 0, 'the daemon serves Task v3 over gRPC, as 1.7 speaks it');
});

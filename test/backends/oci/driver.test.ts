// OciDriver against a fake runtime: a shell script that records each argv and behaves as
// runc does for the ids the tests pick (a pid file at create, runc's words on failure).
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { OciDriver } from '../../../src/backends/oci/driver.js';
import { ErrorKind } from '../../../src/errors/index.js';
import { tempDir } from '../../helpers/tmp.js';

const FAKE_RUNTIME = `#!/bin/sh
dir=$(dirname "$0")
printf '%s\\n' "$*" >> "$dir/calls"
log=; pidfile=; resources=; process=
prev=
for a in "$@"; do
  case "$prev" in
    --log) log=$a ;;
    --pid-file) pidfile=$a ;;
    --resources) resources=$a ;;
    --process) process=$a ;;
  esac
  prev=$a
done
[ -n "$resources" ] && cp "$resources" "$dir/resources-seen"
[ -n "$process" ] && cp "$process" "$dir/process-seen"
case " $* " in
  *" gone "*) echo 'container "gone" does not exist' >&2; exit 1 ;;
  *" logged "*) echo '{"level":"error","msg":"container_linux.go: cannot start a container that has stopped"}' >> "$log"; echo "noise" >&2; exit 1 ;;
  *" slow "*) sleep 5 & echo $! > "$dir/orphan"; wait ;;
  *" mystery "*) echo "something nobody has seen" >&2; exit 1 ;;
esac
case " $* " in
  *" ps --format json "*) echo '[11,12]' ;;
esac
[ -n "$pidfile" ] && echo 4242 > "$pidfile"
exit 0
`;

function setup(t: Test, flavour?: 'runc' | 'crun' | 'runsc') {
  const dir = tempDir(t, 'switchyard-driver-');
  const nul = fs.openSync('/dev/null', 'r+');
  t.teardown(() => fs.closeSync(nul));
  const stdio: [number, number, number] = [nul, nul, nul];
  const binary = path.join(dir, 'fake-runc');
  fs.writeFileSync(binary, FAKE_RUNTIME, { mode: 0o755 });
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2' }));
  const driver = new OciDriver({ name: 'fake', binary, root: path.join(dir, 'state'), namespace: 'ns1', timeoutMs: 500, flavour, extraArgs: ['--debug'] });
  const calls = () => (fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : []);
  const create = (id: string) =>
    driver.create({ id, bundle, stdio, pidFile: path.join(bundle, `${id}.pid`), annotations: {} });
  return { dir, binary, bundle, driver, calls, create, stdio };
}

t.test('create: global flags first, the namespace in --root, the log in the bundle; the pid from the pid file', async (t) => {
  const s = setup(t);
  t.equal(await s.create('c1'), 4242);
  const root = path.join(s.dir, 'state', 'ns1');
  t.same(s.calls(), [`--root ${root} --log ${s.bundle}/log.json --log-format json --debug create --bundle ${s.bundle} --pid-file ${s.bundle}/c1.pid c1`]);
});

t.test('every command after create carries the same globals', async (t) => {
  const s = setup(t);
  await s.create('c1');
  await s.driver.start('c1');
  await s.driver.kill('c1', 15, false);
  await s.driver.kill('c1', 9, true);
  await s.driver.pause('c1');
  await s.driver.resume('c1');
  t.same(await s.driver.ps('c1'), [11, 12]);
  await s.driver.delete('c1', true);
  const g = `--root ${path.join(s.dir, 'state', 'ns1')} --log ${s.bundle}/log.json --log-format json --debug`;
  t.same(s.calls().slice(1), [
    `${g} start c1`,
    `${g} kill c1 15`,
    `${g} kill --all c1 9`,
    `${g} pause c1`,
    `${g} resume c1`,
    `${g} ps --format json c1`,
    `${g} delete --force c1`,
  ]);
});

t.test('the cleanup argv reaches the same container from the bundle alone', async (t) => {
  const s = setup(t);
  t.same(s.driver.cleanupArgv('c1'), [s.binary, '--root', path.join(s.dir, 'state', 'ns1'), '--debug', 'delete', '--force', 'c1']);
});

t.test('exec and update hand the runtime a scratch file that is gone afterwards', async (t) => {
  const s = setup(t);
  await s.create('c1');
  const pid = await s.driver.exec({ id: 'c1', execId: 'e1', process: { args: ['true'] }, stdio: s.stdio });
  t.equal(pid, 4242);
  t.same(JSON.parse(fs.readFileSync(path.join(s.dir, 'process-seen'), 'utf8')), { args: ['true'] });
  await s.driver.update('c1', { memory: { limit: 1 } });
  t.same(JSON.parse(fs.readFileSync(path.join(s.dir, 'resources-seen'), 'utf8')), { memory: { limit: 1 } });
  t.same(fs.readdirSync(s.bundle).filter((f) => f.startsWith('.')), [], 'no scratch file left in the bundle');
});

t.test("a failure's kind comes from the runtime's words; the log's error beats stderr", async (t) => {
  const s = setup(t);
  await t.rejects(s.driver.kill('gone', 9, false), { kind: ErrorKind.NotFound, message: /kill: container "gone" does not exist/ });
  await s.create('logged').catch(() => undefined);
  await t.rejects(s.driver.start('logged'), { kind: ErrorKind.FailedPrecondition, message: /cannot start a container that has stopped/ });
  await t.rejects(s.driver.pause('mystery'), { kind: ErrorKind.Unknown, message: /something nobody has seen/ });
  const err = (await s.driver.kill('gone', 9, false).then(
    () => undefined,
    (e: unknown) => e,
  )) as { argv: string[]; exitCode: number };
  t.equal(err.exitCode, 1, 'the exit code is kept for the operator');
  t.equal(err.argv[0], s.binary);
});

t.test('a runtime that hangs is cut off at the timeout with DeadlineExceeded', async (t) => {
  const s = setup(t);
  // Its child keeps our pipes open after the runtime is killed: the call must not wait for it.
  await t.rejects(s.driver.pause('slow'), { kind: ErrorKind.DeadlineExceeded, message: /timed out after 500 ms/ });
  const orphan = Number(fs.readFileSync(path.join(s.dir, 'orphan'), 'utf8'));
  t.doesNotThrow(() => process.kill(orphan, 0), 'the answer came while the child still held the pipes');
  process.kill(orphan, 'SIGKILL');
});

t.test('a runtime binary that is missing is the node to fix, not Unknown', async (t) => {
  const dir = tempDir(t, 'switchyard-driver-');
  const driver = new OciDriver({ name: 'fake', binary: path.join(dir, 'nope'), root: dir, namespace: 'ns', timeoutMs: 500 });
  await t.rejects(driver.kill('c1', 9, false), { kind: ErrorKind.FailedPrecondition, message: /nope/ });
});

t.test('an operation on a container the driver never created names it', async (t) => {
  const s = setup(t);
  await t.rejects(s.driver.update('unknown', {}), { kind: ErrorKind.FailedPrecondition, message: /unknown is not known/ });
});

t.test('runsc: flags in its --flag=value spelling', async (t) => {
  const s = setup(t, 'runsc');
  t.same(s.driver.cleanupArgv('c1'), [s.binary, `--root=${path.join(s.dir, 'state', 'ns1')}`, '--debug', 'delete', '--force', 'c1']);
  t.same(s.driver.capabilities, { killCreated: true, reportsExit: true, pause: true, update: true, checkpoint: true, restore: true });
});

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/tmp.js';
import { snapshotTree } from '../helpers/tree.js';
import { install, type InstallOptions } from '../../src/install/install.js';
import { uninstall } from '../../src/install/uninstall.js';
import { BACKUP_SUFFIX } from '../../src/install/host-files.js';

/** A stand-in bundle: what install copies and compares, nothing that runs. */
function fakeBundle(t: Parameters<typeof tempDir>[0], sha = 'a'.repeat(64)): string {
  const b = tempDir(t);
  fs.mkdirSync(path.join(b, 'bin'));
  fs.writeFileSync(path.join(b, 'bin/node'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(b, 'BUILD-INFO.json'), JSON.stringify({ version: '0.1.0', contentSha256: sha, node: { v: 'v20' } }));
  return b;
}

/**
 * A containerd stand-in for the restart: a listener on the host's socket that the restart
 * command asks (through a file) to go away and come back, as a restarted containerd does.
 */
async function fakeContainerd(t: Parameters<typeof tempDir>[0], host: string, socket: string): Promise<{ restarts: () => number; command: string }> {
  const sock = path.join(host, socket);
  fs.mkdirSync(path.dirname(sock), { recursive: true });
  const ask = path.join(path.dirname(host), `restart-${path.basename(host)}`);
  let server = net.createServer();
  let restarts = 0;
  await new Promise<void>((r) => server.listen(sock, r));
  const timer = setInterval(() => {
    if (!fs.existsSync(ask)) return;
    fs.rmSync(ask);
    restarts++;
    server.close();
    fs.rmSync(sock, { force: true });
    server = net.createServer();
    server.listen(sock);
  }, 20);
  t.teardown(() => {
    clearInterval(timer);
    server.close();
  });
  return { restarts: () => restarts, command: `touch ${ask}` };
}

const quiet = () => {};
const base = (hostRoot: string, bundle: string, extra: Partial<InstallOptions> = {}): InstallOptions => ({
  hostRoot,
  bundle,
  prefix: '/opt/switchyard',
  pins: [{ name: 'gvisor', runtime: 'runsc' }],
  runtimeArgs: {},
  log: quiet,
  ...extra,
});

t.test('plain containerd: install, install again (no change, no restart), uninstall byte for byte', async (t) => {
  const host = tempDir(t);
  fs.mkdirSync(path.join(host, 'etc/containerd'), { recursive: true });
  fs.mkdirSync(path.join(host, 'usr/local/bin'), { recursive: true });
  const cfg = path.join(host, 'etc/containerd/config.toml');
  fs.writeFileSync(cfg, 'version = 3\n\n[grpc]\n  address = "/run/containerd/containerd.sock"\n', { mode: 0o600 });
  const cd = await fakeContainerd(t, host, '/run/containerd/containerd.sock');
  const skip = (rel: string) => rel.startsWith('run');
  const before = snapshotTree(host, skip);
  const bundle = fakeBundle(t);

  const first = await install(base(host, bundle, { restartCommand: cd.command }));
  t.equal(first.flavour, 'containerd');
  t.ok(first.restarted);
  t.equal(cd.restarts(), 1);
  t.ok(fs.existsSync(path.join(host, 'etc/containerd/config.toml' + BACKUP_SUFFIX)), 'the original is kept');
  t.equal(fs.statSync(cfg).mode & 0o777, 0o600, 'the edited config keeps the mode of the original');
  t.match(fs.readFileSync(path.join(host, 'usr/local/bin/containerd-shim-switchyard-v2'), 'utf8'), /^#!\/opt\/switchyard\/bin\/node\n/);
  t.ok(fs.existsSync(path.join(host, 'opt/switchyard/bin/node')));

  const installed = snapshotTree(host, skip);
  const second = await install(base(host, bundle, { restartCommand: cd.command }));
  t.same(second.changed, []);
  t.notOk(second.restarted);
  t.equal(cd.restarts(), 1);
  t.same(snapshotTree(host, skip), installed, 'the second run changed nothing, not even an mtime');

  t.same(await uninstall({ hostRoot: host, log: quiet }), []);
  t.equal(cd.restarts(), 2, 'containerd restarted on the old config');
  t.same(snapshotTree(host, skip), before, 'the host is as it was');
});

t.test('an owner edit after install survives uninstall; only our block goes', async (t) => {
  const host = tempDir(t);
  fs.mkdirSync(path.join(host, 'etc/containerd'), { recursive: true });
  const cfg = path.join(host, 'etc/containerd/config.toml');
  const original = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "p:1"\n';
  fs.writeFileSync(cfg, original);
  const cd = await fakeContainerd(t, host, '/run/containerd/containerd.sock');
  await install(base(host, fakeBundle(t), { restartCommand: cd.command }));
  fs.writeFileSync(cfg, `# owner\n${fs.readFileSync(cfg, 'utf8')}`);
  const logs: string[] = [];
  t.same(await uninstall({ hostRoot: host, log: (s) => logs.push(s) }), []);
  t.equal(fs.readFileSync(cfg, 'utf8'), `# owner\n${original}`);
  t.match(logs.join('\n'), /only our block was taken out/);
  t.equal(fs.readFileSync(cfg + BACKUP_SUFFIX, 'utf8'), original, 'the original stays available');
});

t.test('k0s: a drop-in only, no restart; uninstall byte for byte', async (t) => {
  const host = tempDir(t);
  fs.mkdirSync(path.join(host, 'etc/k0s/containerd.d'), { recursive: true });
  fs.writeFileSync(path.join(host, 'etc/k0s/containerd.toml'), '# k0s_managed=true\nversion = 2\n');
  const before = snapshotTree(host);
  const r = await install(base(host, fakeBundle(t)));
  t.equal(r.flavour, 'k0s');
  t.notOk(r.restarted);
  t.match(fs.readFileSync(path.join(host, 'etc/k0s/containerd.d/switchyard.toml'), 'utf8'), /runtimes\.switchyard\]/);
  await uninstall({ hostRoot: host, log: quiet });
  t.same(snapshotTree(host), before);
});

t.test('k0s with a config its owner took over is refused, nothing written', async (t) => {
  const host = tempDir(t);
  fs.mkdirSync(path.join(host, 'etc/k0s'), { recursive: true });
  fs.writeFileSync(path.join(host, 'etc/k0s/containerd.toml'), 'version = 2\n');
  const before = snapshotTree(host);
  await t.rejects(install(base(host, fakeBundle(t))), /managed by its owner/);
  t.same(snapshotTree(host), before);
});

t.test('k3s: the template from "base" plus ours; version 3 when the agent runs containerd 2', async (t) => {
  const host = tempDir(t);
  const dir = path.join(host, 'var/lib/rancher/k3s/agent/etc/containerd');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.toml'), 'version = 3\n');
  const cd = await fakeContainerd(t, host, '/run/k3s/containerd/containerd.sock');
  const before = snapshotTree(host, (r) => r.startsWith('run'));
  const r = await install(base(host, fakeBundle(t), { restartCommand: cd.command }));
  t.equal(r.flavour, 'k3s');
  const tmpl = fs.readFileSync(path.join(dir, 'config-v3.toml.tmpl'), 'utf8');
  t.match(tmpl, /^\{\{ template "base" \. \}\}\n/);
  t.match(tmpl, /\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.switchyard\]/);
  await uninstall({ hostRoot: host, log: quiet });
  t.same(snapshotTree(host, (r) => r.startsWith('run')), before);
});

t.test('a config that does not parse: refused with the reason, the host untouched', async (t) => {
  const host = tempDir(t);
  fs.mkdirSync(path.join(host, 'etc/containerd'), { recursive: true });
  fs.writeFileSync(path.join(host, 'etc/containerd/config.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri"\n');
  const before = snapshotTree(host);
  await t.rejects(install(base(host, fakeBundle(t))), /config\.toml is not valid TOML, so it was left untouched/);
  t.same(snapshotTree(host), before);
});

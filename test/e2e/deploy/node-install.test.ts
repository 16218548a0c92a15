// The install path end to end without a cluster: the node image (make node-image) imported
// into a private containerd 2.1.9 and run as the DaemonSet runs it (privileged, host pid
// namespace, the node's root bind-mounted at /host), against a node root whose containerd
// runs chrooted with no Node.js anywhere on it. Then that containerd serves a CRI pod through
// `switchyard` and one through `switchyard-gvisor` on real runsc; a second install changes
// nothing; uninstall gives back the node root byte for byte. Three flavours: plain
// containerd 2.1 (config version 3: drop-in and imports), plain containerd 1.7 (version 2
// with CRI settings: a verified merge), k0s (its containerd.d directory).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { execa } from 'execa';
import { SYSTEM_PATH, overlaySupported, startContainerd, type ContainerdHandle } from '../lib/containerd.js';
import { buildBusyboxImage, repoRoot, splitRef, BUSYBOX_REF } from '../lib/image.js';
import { buildPauseImage, PAUSE_REF } from '../lib/cri-image.js';
import { CriClient } from '../lib/cri.js';
import { requireE2E, unmet } from '../lib/prereq.js';
import { DEBIAN, NODE_PATH, NodeContainerd, makeHostRoot, type HostRoot } from './host-root.js';

const VERSION = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')).version as string;
const IMAGE = `switchyard.dev/node:${VERSION}`;
const CTR21 = () => path.join(DEBIAN(), 'containerd-2.1/usr/bin/ctr');
const SNAP = () => (overlaySupported() ? 'overlayfs' : 'native');

function prerequisites(): string | undefined {
  for (const f of ['containerd-2.1/usr/bin/containerd', 'containerd-1.7/usr/bin/containerd', 'runsc/usr/bin/runsc']) {
    if (!fs.existsSync(path.join(DEBIAN(), f))) return `.cache/debian/${f} missing (scripts/install-deps.sh)`;
  }
  if (!fs.existsSync(path.join(repoRoot(), 'dist/node-bundle/BUILD-INFO.json'))) return 'dist/node-bundle missing';
  return undefined;
}

const CRI_V3 = (snap: string) => `version = 3
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "${snap}"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "${PAUSE_REF}"
  [plugins.'io.containerd.cri.v1.runtime']
    disable_apparmor = true
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "/run/cni/net.d"
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
  [plugins.'io.containerd.internal.v1.opt']
    path = "/var/lib/containerd/opt"
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
`;

const CRI_V2 = (snap: string, head: string, socket: string, extra = '') => `${head}version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
${extra}
[grpc]
  address = "${socket}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_REF}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "${snap}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/run/cni/net.d"

[plugins."io.containerd.internal.v1.opt"]
  path = "/var/lib/containerd/opt"

[plugins."io.containerd.nri.v1.nri"]
  disable = true
`;

interface Scenario {
  name: string;
  containerd: '1.7' | '2.1';
  config: string;
  socket: string;
  files: (snap: string) => Record<string, string>;
  /** The flavour restarts containerd through the installer (else the test plays k0s). */
  installerRestarts: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'plain containerd 2.1, config version 3', containerd: '2.1', config: '/etc/containerd/config.toml', socket: '/run/containerd/containerd.sock', files: (s) => ({ 'etc/containerd/config.toml': CRI_V3(s) }), installerRestarts: true },
  {
    name: 'plain containerd 1.7, config version 2 with CRI settings',
    containerd: '1.7',
    config: '/etc/containerd/config.toml',
    socket: '/run/containerd/containerd.sock',
    files: (s) => ({ 'etc/containerd/config.toml': CRI_V2(s, '', '/run/containerd/containerd.sock') }),
    installerRestarts: true,
  },
  {
    // k0s merges containerd.d files into its own config and restarts its containerd; here
    // containerd 2.1's imports (merged table by table) stand in for that merge.
    name: 'k0s (containerd.d drop-in), containerd 2.1',
    containerd: '2.1',
    config: '/etc/k0s/containerd.toml',
    socket: '/run/k0s/containerd.sock',
    files: (s) => ({
      'etc/k0s/containerd.toml': CRI_V2(s, '# k0s_managed=true\n', '/run/k0s/containerd.sock', 'imports = ["/etc/k0s/containerd.d/*.toml"]\n'),
      'etc/k0s/containerd.d/.keep': '',
    }),
    installerRestarts: false,
  },
];

/** `ctr` 2.1 against the cluster containerd (the one that runs the node image). */
async function clusterCtr(c: ContainerdHandle, args: string[], reject = true) {
  const cmd = c.ctrCommand(args);
  return execa(CTR21(), cmd.args, { env: cmd.env, extendEnv: false, reject, timeout: 300_000, stdin: 'ignore' });
}

/** Runs the node image as the DaemonSet would; returns its exit code and output. */
async function runInstaller(c: ContainerdHandle, hr: HostRoot, args: string[]) {
  const id = `installer-${randomBytes(3).toString('hex')}`;
  const r = await clusterCtr(
    c,
    ['run', '--rm', '--privileged', '--net-host', '--with-ns', `pid:/proc/${process.pid}/ns/pid`, '--mount', `type=bind,src=${hr.host},dst=/host,options=rbind:rw`, '--env', 'NODE_NAME=node-1', '--env', `CONTAINERD_SNAPSHOTTER=${SNAP()}`, IMAGE, id, '/opt/switchyard/bin/switchyard', 'node', ...args],
    false,
  );
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}` };
}

async function importInto(v: string, address: string, tar: string, ref: string) {
  await execa(path.join(DEBIAN(), `containerd-${v}/usr/bin/ctr`), ['--address', address, '-n', 'k8s.io', 'images', 'import', '--base-name', splitRef(ref).name, tar], { env: { PATH: SYSTEM_PATH, CONTAINERD_SNAPSHOTTER: SNAP() }, extendEnv: false });
}

// Three node roots, each with two containerd starts, pods on runc and gVisor: past tap's 180 s default.
t.setTimeout(900_000);

if (requireE2E(t)) {
  const missing = prerequisites();
  if (missing) unmet(t, missing);
  else {
    let cluster: ContainerdHandle;
    t.before(async () => {
      await execa('bash', [path.join(repoRoot(), 'scripts/build-node-image.sh'), 'dist/node-bundle', 'dist/switchyard-node.tar'], { cwd: repoRoot(), env: { PATH: SYSTEM_PATH } });
      cluster = await startContainerd({ containerdBinary: path.join(DEBIAN(), 'containerd-2.1/usr/bin/containerd'), pathPrefix: [path.join(DEBIAN(), 'containerd-2.1/usr/bin')] });
      await clusterCtr(cluster, ['images', 'import', '--base-name', splitRef(IMAGE).name, path.join(repoRoot(), 'dist/switchyard-node.tar')]);
    });
    t.teardown(() => cluster?.stop());

    for (const s of SCENARIOS) {
      t.test(s.name, async (t) => {
        const hr = makeHostRoot(s.containerd, s.files(SNAP()));
        const node = new NodeContainerd(hr, s.config, s.socket);
        t.teardown(async () => {
          // The node's containerd log holds the shims' stderr too: the one record of a failure here.
          if (!t.passing()) process.stderr.write(`the node's containerd.log (last 200 lines):\n${node.logs().split('\n').slice(-200).join('\n')}\n`);
          await node.stop();
          const report = hr.cleanup();
          const bad = report.errors.filter((e) => /still alive|mounts left|rm -rf|cleanup failed/.test(e));
          if (bad.length) throw new Error(`cleanup: ${bad.join('; ')}`);
        });
        t.notOk(fs.existsSync(hr.at('usr/bin')), 'the node has no /usr/bin (nor /bin): no Node.js to find');
        for (const d of NODE_PATH.split(':')) t.notOk(fs.existsSync(hr.at(`${d}/node`)), `no node in ${d}`);
        node.start();
        await node.ready();
        const before = hr.snapshot();
        // Stands in for `systemctl restart containerd` (the default, through the host's pid 1):
        // a kill in the host pid namespace; NodeContainerd starts it again, as systemd would.
        const restartArgs = () => (s.installerRestarts ? ['--restart-command', 'kill $(cat /host/run/containerd.pid)'] : []);

        const inst = await runInstaller(cluster, hr, ['install', '--host-root', '/host', '--runsc-arg=--network=host', ...restartArgs()]);
        t.equal(inst.code, 0, `install exits 0\n${inst.out}`);
        t.match(inst.out, /probe: a task ran through io\.containerd\.switchyard\.v2/);
        t.match(inst.out, /node label: not in a cluster/);
        if (s.installerRestarts) t.equal(node.starts, 2, 'the installer restarted containerd through the host pid namespace');
        else {
          t.equal(node.starts, 1, 'k0s: the installer leaves the restart to k0s');
          process.kill(node.pid!, 'SIGTERM'); // what k0s does on a containerd.d change
          await new Promise((r) => setTimeout(r, 500));
        }
        await node.ready();
        t.match(fs.readFileSync(hr.at('usr/local/bin/containerd-shim-switchyard-v2'), 'utf8'), /^#!\/opt\/switchyard\/bin\/node\n/);

        // Pods through both handlers, driven as kubelet drives them.
        const busybox = await buildBusyboxImage();
        const pause = await buildPauseImage();
        await importInto(s.containerd, node.address, busybox, BUSYBOX_REF);
        await importInto(s.containerd, node.address, pause.tar, PAUSE_REF);
        const cri = new CriClient(node.address, { cgroupParent: `/${hr.cgroup}` });
        t.teardown(() => cri.close());
        await cri.waitReady();
        await cri.waitImage(BUSYBOX_REF);
        for (const [handler, kernelHas] of [
          ['switchyard', undefined],
          ['switchyard-gvisor', /gVisor/],
        ] as const) {
          const pod = await cri.runPod({ name: `p-${handler}`, namespace: 'default', runtimeHandler: handler });
          const ctr = await cri.createAndStart(pod, undefined, { name: 'c', image: BUSYBOX_REF, command: ['sh', '-c', 'trap "exit 0" TERM; sleep 300 & wait'] });
          const echo = await cri.execSync(ctr, ['echo', 'served']);
          t.equal(String(echo.stdout).trim(), 'served', `${handler}: a CRI pod runs and execs`);
          const dmesg = await cri.execSync(ctr, ['dmesg']);
          if (kernelHas) t.match(String(dmesg.stdout), kernelHas, `${handler}: the container runs on gVisor's kernel`);
          else t.notMatch(String(dmesg.stdout), /gVisor/, `${handler}: the container runs on the host kernel (runc)`);
          await cri.stopAndRemovePod(pod);
        }
        const daemons = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('containerd-shim-switchyard-v2') && fs.readlinkSync(`/proc/${p}/root`) === hr.host;
          } catch {
            return false;
          }
        });
        t.ok(daemons.length > 0, 'Switchyard daemons run on the node');
        for (const p of daemons) t.equal(fs.readlinkSync(`/proc/${p}/exe`), hr.at('opt/switchyard/bin/node'), `daemon ${p} runs the bundle's own node`);

        // The readiness check: doctor inside the node against the installed config.
        const ready = await runInstaller(cluster, hr, ['doctor', '--host-root', '/host']);
        t.equal(ready.code, 0, `node doctor (the DaemonSet's readiness) passes\n${ready.out}`);
        t.match(ready.out, /containerd runtime switchyard-gvisor: pod_annotations covers/);

        const installed = hr.snapshot();
        const starts = node.starts;
        const again = await runInstaller(cluster, hr, ['install', '--host-root', '/host', '--runsc-arg=--network=host', ...restartArgs()]);
        t.equal(again.code, 0, again.out);
        t.match(again.out, /already installed .*nothing changed/);
        t.equal(node.starts, starts, 'the second install restarted nothing');
        t.same(hr.snapshot(), installed, 'the second install changed no file, not even an mtime');

        const un = await runInstaller(cluster, hr, ['uninstall', '--host-root', '/host']);
        t.equal(un.code, 0, un.out);
        t.match(un.out, /the node is as it was/);
        if (s.installerRestarts) t.equal(node.starts, starts + 1, 'uninstall restarted containerd with the recorded command');
        t.same(hr.snapshot(), before, 'uninstall gave the node root back byte for byte');
      });
    }

    t.test('a config that does not parse is left untouched, with the reason', async (t) => {
      const broken = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"\n  sandbox_image = "x"\n';
      const hr = makeHostRoot('2.1', { 'etc/containerd/config.toml': broken });
      t.teardown(() => hr.cleanup());
      const before = hr.snapshot();
      const r = await runInstaller(cluster, hr, ['install', '--host-root', '/host', '--no-probe']);
      t.equal(r.code, 1);
      t.match(r.out, /\/etc\/containerd\/config\.toml is not valid TOML, so it was left untouched/);
      t.same(hr.snapshot(), before);
    });
  }
}

/** `switchyard node install|uninstall|doctor`: options in, the installer run, an exit code out. */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { describe } from '../errors/index.js';
import { install } from './install.js';
import { uninstall } from './uninstall.js';
import { parseFlavour } from './flavours.js';
import { parsePin } from './handlers.js';
import { DEFAULT_PREFIX, ownBundle } from './bundle-copy.js';
import { readRecord } from './record.js';
import { Host } from './plan.js';

export const NODE_HELP = `Usage: switchyard node install|uninstall|doctor [--host-root DIR] [options]

install     copy the node bundle into the host, register Switchyard with the host's
            containerd (flavour: containerd, k0s, k3s, rke2; found on disk or --flavour),
            restart containerd through the host's init where the flavour needs it, run a
            probe task, and label the node switchyard.dev/runtime-ready=true (in a cluster).
            Idempotent; every file it changes is backed up; a config it cannot read safely
            is refused and left untouched.
uninstall   undo all of it, byte for byte where the owner has not changed a file since.
doctor      \`switchyard doctor\` run inside the host (chroot), against the config installed.

  --host-root DIR          the host's root filesystem (default /; /host in the DaemonSet)
  --prefix DIR             where the bundle goes on the host (default ${DEFAULT_PREFIX})
  --bundle DIR             the node bundle to copy (default: the one this command runs from)
  --flavour NAME           containerd | k0s | k3s | rke2 (default: detected)
  --containerd-config FILE the containerd config (plain flavour; default /etc/containerd/config.toml)
  --pin NAME=RUNTIME       a handler switchyard-NAME that runs pods on RUNTIME (default gvisor=runsc; --pin none for none)
  --runsc-arg ARG          an extra runsc flag in the pinned configs (e.g. --network=host)
  --restart-command CMD    how to restart containerd (sh -c, in this container; default: systemctl in the host's pid 1 namespaces)
  --probe-image FILE       an OCI archive with /bin/true for the probe task (default /usr/share/switchyard/probe.tar when present)
  --no-probe               skip the probe task
  --ctr PATH               ctr for the probe (default ctr)
  --node-name NAME         this node (default NODE_NAME)
  --stay                   afterwards, keep running until SIGTERM (the DaemonSet's container)

Example: switchyard node install --host-root /host --stay`;

const DEFAULT_PROBE_IMAGE = '/usr/share/switchyard/probe.tar';

export async function nodeCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'host-root': { type: 'string', default: '/' },
      prefix: { type: 'string', default: DEFAULT_PREFIX },
      bundle: { type: 'string' },
      flavour: { type: 'string' },
      'containerd-config': { type: 'string' },
      pin: { type: 'string', multiple: true },
      'runsc-arg': { type: 'string', multiple: true },
      'restart-command': { type: 'string' },
      'probe-image': { type: 'string' },
      'no-probe': { type: 'boolean' },
      ctr: { type: 'string', default: 'ctr' },
      'node-name': { type: 'string' },
      stay: { type: 'boolean' },
    },
  });
  const log = (s: string) => process.stdout.write(`switchyard node: ${s}\n`);
  const hostRoot = values['host-root']!;
  const nodeName = values['node-name'] ?? process.env.NODE_NAME;
  const verb = positionals[0];
  if (positionals.length !== 1 || !['install', 'uninstall', 'doctor'].includes(verb ?? '')) {
    process.stderr.write(`${NODE_HELP}\n`);
    return 2;
  }
  try {
    if (verb === 'doctor') return doctorOnHost(hostRoot);
    if (verb === 'uninstall') {
      const problems = await uninstall({ hostRoot, nodeName, restartCommand: values['restart-command'], log });
      if (values.stay) await stay();
      return problems.length ? 1 : 0;
    }
    const pins = (values.pin ?? ['gvisor=runsc']).filter((p) => p !== 'none').map(parsePin);
    const probeImage = values['probe-image'] ?? (fs.existsSync(DEFAULT_PROBE_IMAGE) ? DEFAULT_PROBE_IMAGE : undefined);
    if (!values['no-probe'] && !probeImage) throw new Error(`no probe image: pass --probe-image FILE or --no-probe`);
    await install({
      hostRoot,
      bundle: values.bundle ?? ownBundle(),
      prefix: values.prefix!,
      flavour: values.flavour ? parseFlavour(values.flavour) : undefined,
      pins,
      runtimeArgs: { runsc: values['runsc-arg'] ?? [] },
      containerdConfig: values['containerd-config'],
      restartCommand: values['restart-command'],
      probe: values['no-probe'] ? undefined : { ctr: values.ctr!, image: probeImage! },
      nodeName,
      log,
    });
    if (values.stay) await stay();
    return 0;
  } catch (err) {
    process.stderr.write(`switchyard node ${verb}: ${describe(err)}\n`);
    return 1;
  }
}

/** The DaemonSet's container stays up after its work, until the kubelet stops it. */
const stay = () => new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));

/** The readiness check: the installed CLI's doctor, as the host sees itself. */
function doctorOnHost(hostRoot: string): number {
  const r = readRecord(new Host(hostRoot));
  if (!r) {
    process.stderr.write('switchyard node doctor: not installed on this host\n');
    return 1;
  }
  const argv = ['/usr/local/bin/switchyard', 'doctor', '--containerd-config', r.containerdConfig];
  // The host's PATH, as containerd and the shims have it there, not this container's.
  const env = { ...process.env, PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  const res = hostRoot === '/' ? spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit', env }) : spawnSync('chroot', [hostRoot, ...argv], { stdio: 'inherit', env });
  if (res.error) process.stderr.write(`switchyard node doctor: ${res.error.message}\n`);
  return res.status ?? 1;
}

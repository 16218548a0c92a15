// Which containerd an e2e test runs against.
//
//   SWITCHYARD_E2E_CONTAINERD=1.6|1.7|2.1   (default 2.1, our primary)
//
// 1.6 is the host's Debian 12 package (/usr/bin); 1.7.24 (trixie) and 2.1.9 (sid) are
// unpacked by scripts/debian-cache.sh into .cache/debian/containerd-X/usr/bin, each with
// its own ctr and containerd-shim-runc-v2. A test picks one with `containerdBuild()` (the
// environment's choice) or `containerdBuild('1.7')` (a test that needs two, such as the
// upgrade test). A version that is not there is a prerequisite failure: skipped locally,
// failed in CI (prereq.ts).
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './image.js';

export type ContainerdVersion = '1.6' | '1.7' | '2.1';
export const CONTAINERD_VERSIONS: readonly ContainerdVersion[] = ['1.6', '1.7', '2.1'];
export const DEFAULT_CONTAINERD_VERSION: ContainerdVersion = '2.1';

export interface ContainerdBuild {
  version: ContainerdVersion;
  /** The folder holding containerd, ctr and containerd-shim-runc-v2 of this version. */
  binDir: string;
  containerd: string;
  ctr: string;
  /** The config file form this containerd reads natively (2 for 1.x, 3 for 2.x). */
  configVersion: 2 | 3;
  /** The CRI plugin's runtime handlers table (`...runtimes.<handler>`). */
  criRuntimesTable: string;
}

/** The version named by SWITCHYARD_E2E_CONTAINERD (default 2.1); a bad value throws. */
export function selectedContainerdVersion(env: NodeJS.ProcessEnv = process.env): ContainerdVersion {
  const v = env.SWITCHYARD_E2E_CONTAINERD || DEFAULT_CONTAINERD_VERSION;
  if (!(CONTAINERD_VERSIONS as readonly string[]).includes(v)) {
    throw new Error(`SWITCHYARD_E2E_CONTAINERD=${v}: want one of ${CONTAINERD_VERSIONS.join(', ')}`);
  }
  return v as ContainerdVersion;
}

/** Where a version's binaries live (whether or not they are there). */
export function containerdBuild(version: ContainerdVersion = selectedContainerdVersion()): ContainerdBuild {
  const binDir = version === '1.6' ? '/usr/bin' : path.join(repoRoot(), '.cache', 'debian', `containerd-${version}`, 'usr', 'bin');
  const v3 = version.startsWith('2.');
  return {
    version,
    binDir,
    containerd: path.join(binDir, 'containerd'),
    ctr: path.join(binDir, 'ctr'),
    configVersion: v3 ? 3 : 2,
    criRuntimesTable: v3 ? `plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes` : `plugins."io.containerd.grpc.v1.cri".containerd.runtimes`,
  };
}

/** Why `build` cannot run here, or undefined when containerd, ctr and runc-v2 are present. */
export function missingBuild(build: ContainerdBuild): string | undefined {
  const need = [build.containerd, build.ctr, path.join(build.binDir, 'containerd-shim-runc-v2')];
  const missing = need.filter((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (!missing.length) return undefined;
  const how = build.version === '1.6' ? 'apt-get install containerd' : 'scripts/install-deps.sh (scripts/debian-cache.sh)';
  return `containerd ${build.version}: missing ${missing.join(', ')} (run ${how})`;
}

/** Whether this containerd reuses a pod's shim connection when the shim bootstraps version 3. */
export function reusesSandboxShim(build: ContainerdBuild): boolean {
  return build.configVersion === 3;
}

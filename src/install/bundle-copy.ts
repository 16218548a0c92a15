/**
 * The node bundle on the host: copied whole into the prefix (beside it first, then renamed
 * in, so a shim starting meanwhile sees the old bundle or the new, never a mix), skipped
 * when the prefix already holds the same build (BUILD-INFO.json's content hash).
 */
import fs from 'node:fs';
import path from 'node:path';
import { failedPrecondition } from '../errors/index.js';
import type { Host } from './plan.js';

export const DEFAULT_PREFIX = '/opt/switchyard';
export const BIN_DIR = '/usr/local/bin';

export interface BundleInfo {
  version: string;
  contentSha256: string;
  node: { v: string; glibc?: string };
}

export function readBundleInfo(dir: string): BundleInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'BUILD-INFO.json'), 'utf8')) as BundleInfo;
  } catch {
    return undefined;
  }
}

/** The bundle this program runs from: <bundle>/lib/dist/src/install/ → <bundle>. */
export function ownBundle(): string {
  return path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../..');
}

/** Copies `bundle` to the host's `prefix`; false when it was already there. */
export function copyBundle(host: Host, bundle: string, prefix: string, ours: boolean): boolean {
  const info = readBundleInfo(bundle);
  if (!info) throw failedPrecondition(`${bundle} is not a node bundle (no BUILD-INFO.json): build it with make node-bundle`);
  const dest = host.at(prefix);
  const there = readBundleInfo(dest);
  if (fs.existsSync(dest) && !ours) {
    throw failedPrecondition(`${prefix} exists on the host and was not installed by switchyard node install; remove it or choose another --prefix`);
  }
  if (there?.contentSha256 === info.contentSha256) return false;
  const next = `${dest}.switchyard-new`;
  const old = `${dest}.switchyard-old`;
  fs.rmSync(next, { recursive: true, force: true });
  fs.rmSync(old, { recursive: true, force: true });
  fs.cpSync(bundle, next, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  if (fs.existsSync(dest)) fs.renameSync(dest, old);
  fs.renameSync(next, dest);
  fs.rmSync(old, { recursive: true, force: true });
  return true;
}

export function removeBundle(host: Host, prefix: string): void {
  fs.rmSync(host.at(prefix), { recursive: true, force: true });
}

/**
 * The commands on containerd's PATH: scripts run by the bundle's node through the shebang
 * (no shell, no lookup of the prefix at every container start), the prefix written in.
 */
export function wrappers(prefix: string): { path: string; content: string }[] {
  const shebang = `#!${prefix}/bin/node`;
  return [
    {
      path: `${BIN_DIR}/containerd-shim-switchyard-v2`,
      content: `${shebang}\n// Written by \`switchyard node install\`: the shim from the bundle in ${prefix}.\nrequire(${JSON.stringify(`${prefix}/lib/bin/containerd-shim-switchyard-v2.cjs`)});\n`,
    },
    {
      path: `${BIN_DIR}/switchyard`,
      content: `${shebang}\n// Written by \`switchyard node install\`: the CLI from the bundle in ${prefix}.\nimport(${JSON.stringify(`${prefix}/lib/bin/switchyard.js`)});\n`,
    },
  ];
}

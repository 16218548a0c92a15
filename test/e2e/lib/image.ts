// The busybox test image: built offline by scripts/build-image.sh, cached in
// <repo>/.cache/, imported into a private containerd with ctr.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { SYSTEM_PATH, type ContainerdHandle } from './containerd.js';

export const BUSYBOX_REF = 'switchyard.test/busybox:latest';

let repoRootCache: string | undefined;

/** The repository root: the nearest ancestor with a package.json named "switchyard". */
export function repoRoot(): string {
  if (repoRootCache) return repoRootCache;
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'switchyard') return (repoRootCache = d);
      } catch {}
    }
    const up = path.dirname(d);
    if (up === d) throw new Error('cannot find the switchyard repository root');
    d = up;
  }
}

/** Split `name[:tag]` into name and tag. */
export function splitRef(ref: string): { name: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: 'latest' };
}

/**
 * Build (or reuse) the OCI archive for `ref` and return its path:
 * <repo>/.cache/busybox-oci.tar for the default ref.
 */
export async function buildBusyboxImage(ref: string = BUSYBOX_REF): Promise<string> {
  const root = repoRoot();
  const file = ref === BUSYBOX_REF ? 'busybox-oci.tar' : `busybox-oci-${ref.replace(/[^A-Za-z0-9._-]/g, '_')}.tar`;
  const out = path.join(root, '.cache', file);
  await execa('bash', [path.join(root, 'scripts', 'build-image.sh'), out, ref], {
    env: { PATH: SYSTEM_PATH },
    extendEnv: false,
    stdin: 'ignore',
  });
  return out;
}

/**
 * Import the busybox image into `namespace` (default: the handle's) of a private
 * containerd and return its ref. Uses
 *   ctr -n NS image import --base-name switchyard.test/busybox <archive>
 * The archive's index carries `io.containerd.image.name` = the full ref, and
 * `org.opencontainers.image.ref.name` = the tag, so the image gets exactly `ref`.
 */
export async function importBusybox(c: ContainerdHandle, namespace: string = c.namespace, ref: string = BUSYBOX_REF): Promise<string> {
  const { name, tag } = splitRef(ref);
  ref = `${name}:${tag}`; // build-image.sh adds ":latest" too
  const tar = await buildBusyboxImage(ref);
  await c.ctr(['images', 'import', '--base-name', name, tar], { namespace });
  const ls = await c.ctr(['images', 'ls', '-q'], { namespace });
  if (!ls.stdout.split('\n').includes(ref)) {
    throw new Error(`image ${ref} missing after import into ${namespace}; images: ${ls.stdout.trim() || '(none)'}`);
  }
  return ref;
}

// The pod sandbox ("pause") image for CRI tests, built offline and cached in
// <repo>/.cache/pause-oci.tar, imported into a private containerd with ctr.
//
// Preferred: test/e2e/cri/pause.c compiled statically with the host's cc (Debian's gcc
// and libc6-dev ship libc.a); the image holds the single file /pause, entrypoint
// ["/pause"]. Without a C compiler: /bin/busybox (busybox-static) and a shell loop that
// sleeps forever and exits 0 on SIGTERM/SIGINT. Either way the layout is the same kind
// scripts/build-image.sh writes: one uncompressed layer, deterministic tar, an index whose
// io.containerd.image.name annotation carries the full ref.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { SYSTEM_PATH, type ContainerdHandle } from './containerd.js';
import { repoRoot, splitRef } from './image.js';
import { which } from './prereq.js';

export const PAUSE_REF = 'switchyard.test/pause:latest';
export const PAUSE_SOURCE = 'test/e2e/cri/pause.c';

/** Bumped whenever the layout written below changes, to invalidate the cache. */
const BUILDER_VERSION = '1';

const BUSYBOX_PAUSE_SCRIPT = 'trap "exit 0" TERM INT; while :; do /bin/busybox sleep 3600 & wait $!; done';

function ociPlatform(): { architecture: string; variant?: string } {
  switch (process.arch) {
    case 'x64':
      return { architecture: 'amd64' };
    case 'arm64':
      return { architecture: 'arm64', variant: 'v8' };
    case 'arm':
      return { architecture: 'arm', variant: 'v7' };
    case 'ia32':
      return { architecture: '386' };
    case 'ppc64':
      return { architecture: 'ppc64le' };
    case 's390x':
      return { architecture: 's390x' };
    case 'riscv64':
      return { architecture: 'riscv64' };
    default:
      throw new Error(`unsupported architecture ${process.arch}`);
  }
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** GNU tar with fixed owners, mtimes and order, of the given relative paths under `dir`. */
async function deterministicTar(dir: string, out: string, entries: string[]): Promise<void> {
  await execa(
    'tar',
    ['--create', `--file=${out}`, `--directory=${dir}`, '--format=gnu', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '--no-recursion', '--null', '--files-from=-'],
    { input: entries.map((e) => e + '\0').join(''), env: { PATH: SYSTEM_PATH }, extendEnv: false },
  );
}

export interface PauseBuild {
  /** The OCI archive. */
  tar: string;
  ref: string;
  /** 'static-c': test/e2e/cri/pause.c; 'busybox-sh': the busybox shell fallback. */
  kind: 'static-c' | 'busybox-sh';
}

/**
 * Build (or reuse) the pause image archive for `ref`. `prefer: 'busybox-sh'` forces the
 * fallback (to test it); by default a C compiler is used when there is one.
 */
export async function buildPauseImage(ref: string = PAUSE_REF, prefer?: PauseBuild['kind']): Promise<PauseBuild> {
  const root = repoRoot();
  const { name, tag } = splitRef(ref);
  ref = `${name}:${tag}`;
  const cc = which('cc') ?? which('gcc');
  const kind: PauseBuild['kind'] = prefer ?? (cc ? 'static-c' : 'busybox-sh');
  const source = fs.readFileSync(path.join(root, PAUSE_SOURCE));
  const busybox = '/bin/busybox';
  const inputs = kind === 'static-c' ? sha256(source) : sha256(fs.readFileSync(busybox)) + sha256(BUSYBOX_PAUSE_SCRIPT);
  const key = sha256([BUILDER_VERSION, kind, ref, process.arch, inputs].join('\n'));
  const base = ref === PAUSE_REF ? 'pause-oci' : `pause-oci-${ref.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const out = path.join(root, '.cache', `${base}-${kind}.tar`);
  const keyFile = out + '.key';
  if (fs.existsSync(out) && fs.existsSync(keyFile) && fs.readFileSync(keyFile, 'utf8') === key) return { tar: out, ref, kind };

  fs.mkdirSync(path.dirname(out), { recursive: true });
  const work = fs.mkdtempSync('/tmp/switchyard-pause-build-');
  try {
    // --- root filesystem and its layer
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(rootfs);
    let entries: string[];
    let entrypoint: string[];
    if (kind === 'static-c') {
      if (!cc) throw new Error('buildPauseImage: no C compiler (cc/gcc) on PATH');
      const bin = path.join(rootfs, 'pause');
      try {
        await execa(cc, ['-static', '-Os', '-s', '-o', bin, path.join(root, PAUSE_SOURCE)], { env: { PATH: SYSTEM_PATH }, extendEnv: false });
      } catch (e) {
        const err = e as { stderr?: string; message?: string };
        throw new Error(`cannot compile ${PAUSE_SOURCE} statically (is libc6-dev installed?): ${err?.stderr || err?.message || e}`);
      }
      fs.chmodSync(bin, 0o755);
      entries = ['pause'];
      entrypoint = ['/pause'];
    } else {
      if (!fs.existsSync(busybox)) throw new Error('buildPauseImage: /bin/busybox missing (install busybox-static)');
      fs.mkdirSync(path.join(rootfs, 'bin'));
      fs.copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
      fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
      fs.symlinkSync('busybox', path.join(rootfs, 'bin', 'sh'));
      entries = ['bin', 'bin/busybox', 'bin/sh'];
      entrypoint = ['/bin/busybox', 'sh', '-c', BUSYBOX_PAUSE_SCRIPT];
    }
    const layerTar = path.join(work, 'layer.tar');
    await deterministicTar(rootfs, layerTar, entries);

    // --- OCI layout
    const layout = path.join(work, 'layout');
    const blobs = path.join(layout, 'blobs', 'sha256');
    fs.mkdirSync(blobs, { recursive: true });
    const putBlob = (data: Buffer) => {
      const hex = sha256(data);
      fs.writeFileSync(path.join(blobs, hex), data);
      return { digest: `sha256:${hex}`, size: data.length };
    };
    const layer = putBlob(fs.readFileSync(layerTar));
    const platform = ociPlatform();
    const created = '1970-01-01T00:00:00Z';
    const config = putBlob(
      Buffer.from(
        JSON.stringify({
          created,
          ...platform,
          os: 'linux',
          config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Entrypoint: entrypoint, WorkingDir: '/' },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
          history: [{ created, created_by: `test/e2e/lib/cri-image.ts (${kind})` }],
        }),
      ),
    );
    const manifest = putBlob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        }),
      ),
    );
    fs.writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            platform: { architecture: platform.architecture, os: 'linux', ...(platform.variant ? { variant: platform.variant } : {}) },
            annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
          },
        ],
      }),
    );
    fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const blobEntries = fs
      .readdirSync(blobs)
      .sort()
      .map((h) => `blobs/sha256/${h}`);
    const tmpOut = `${out}.tmp.${process.pid}`;
    await deterministicTar(layout, tmpOut, ['oci-layout', 'index.json', 'blobs', 'blobs/sha256', ...blobEntries]);
    fs.renameSync(tmpOut, out);
    fs.writeFileSync(keyFile, key);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { tar: out, ref, kind };
}

/** Import the pause image into `namespace` (CRI's is k8s.io) and return its build info. */
export async function importPause(c: ContainerdHandle, namespace: string, ref: string = PAUSE_REF, prefer?: PauseBuild['kind']): Promise<PauseBuild> {
  const b = await buildPauseImage(ref, prefer);
  await c.ctr(['images', 'import', '--base-name', splitRef(b.ref).name, b.tar], { namespace });
  const ls = await c.ctr(['images', 'ls', '-q'], { namespace });
  if (!ls.stdout.split('\n').includes(b.ref)) {
    throw new Error(`image ${b.ref} missing after import into ${namespace}; images: ${ls.stdout.trim() || '(none)'}`);
  }
  return b;
}

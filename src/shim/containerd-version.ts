/**
 * Which containerd runs this shim. containerd 1.7 and 2.x launch a shim with the same flags
 * and environment (MAX_SHIM_VERSION=2 in both), yet 2.x wants a version-3 bootstrap to
 * reuse a pod's shim and 1.7 refuses one; 1.6 takes any output as an address. The one
 * thing that tells them apart is containerd itself, which `-publish-binary` names: its
 * `--version` line, read once per binary and cached in our state dir under the binary's
 * identity (device, inode, size, mtime), so a replaced containerd is read again and every
 * later `start` costs one stat and one small read.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ContainerdVersion {
  major: number;
  minor: number;
  /** As containerd printed it, e.g. "2.1.9+unknown" or "1.7.24~ds1". */
  text: string;
}

/** How long `containerd --version` may take before we give up on it. */
const VERSION_TIMEOUT_MS = 5_000;

/** `containerd github.com/containerd/containerd/v2 2.1.9+unknown <revision>` → 2.1.9. */
export function parseVersionLine(line: string): ContainerdVersion | undefined {
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'containerd' || !fields[1]?.startsWith('github.com/containerd/containerd')) return undefined;
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?/.exec(fields[2] ?? '');
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), text: fields[2]! };
}

/** The cache file for one containerd binary, named by what changes when it is replaced. */
export function cacheFile(stateDir: string, binary: string): string | undefined {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(binary, { bigint: true });
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  return path.join(stateDir, 'containerd', `${st.dev}-${st.ino}-${st.size}-${st.mtimeNs}`);
}

/**
 * The version of the containerd binary at `binary`, or undefined when it is missing or
 * does not answer as containerd does (then the caller takes the answer every containerd
 * accepts). Runs the binary only on a cache miss.
 */
export async function containerdVersion(binary: string, stateDir: string): Promise<ContainerdVersion | undefined> {
  if (!binary || !path.isAbsolute(binary)) return undefined;
  const cache = cacheFile(stateDir, binary);
  if (!cache) return undefined;
  try {
    return parseVersionLine(fs.readFileSync(cache, 'utf8'));
  } catch {
    // not read yet
  }
  const { execFile } = await import('node:child_process');
  const line = await new Promise<string>((resolve) => {
    // A clean environment: containerd must not read our config or a socket from it.
    execFile(binary, ['--version'], { timeout: VERSION_TIMEOUT_MS, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, stdout) =>
      resolve(err ? '' : stdout.split('\n')[0] ?? ''),
    );
  });
  const version = parseVersionLine(line);
  if (version) {
    try {
      fs.mkdirSync(path.dirname(cache), { recursive: true, mode: 0o700 });
      // Write then rename: a concurrent `start` reads a whole line or nothing.
      const tmp = `${cache}.${process.pid}`;
      fs.writeFileSync(tmp, `${line.trim()}\n`, { mode: 0o600 });
      fs.renameSync(tmp, cache);
    } catch {
      // A read-only state dir only costs the next start another run of containerd.
    }
  }
  return version;
}

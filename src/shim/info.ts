/**
 * `-info`: containerd 2.x runs `<shim> -info` (no other flags, the runtime options on
 * stdin) for its Introspection PluginInfo and before it creates a task with idmap mounts,
 * and reads one containerd.types.RuntimeInfo from stdout. The features are those of the
 * default runtime's `features` command: what a pod that asks for nothing runs on, and what
 * containerd checks idmap support against. Rare, so it may load the generated code.
 */
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { containerd, google } from '../gen/proto.js';
import { loadConfig, type Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import { findOnPath } from '../routing/find-on-path.js';
import { decodeRuntimeOptions } from './options.js';
import { VERSION } from './version.js';

export const RUNTIME_NAME = 'io.containerd.switchyard.v2';
/** How containerd's typeurl registry names runtime-spec's features.Features (JSON value). */
export const FEATURES_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/features/Features';
const FEATURES_TIMEOUT_MS = 10_000;

/** The OCI runtime's `features` JSON, or undefined when it has none (older runtimes). */
function runtimeFeatures(binary: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ['features'], { timeout: FEATURES_TIMEOUT_MS, encoding: 'buffer' }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        JSON.parse(stdout.toString());
        resolve(stdout);
      } catch {
        resolve(undefined);
      }
    });
  });
}

export async function runtimeInfo(cfg: Config, stdin: Buffer): Promise<Uint8Array> {
  const options = stdin.length ? google.protobuf.Any.decode(stdin) : undefined;
  const rt = cfg.runtimes[cfg.defaultRuntime];
  const binary = rt && rt.type === 'oci' ? findOnPath(rt.binary) : undefined;
  const features = binary ? await runtimeFeatures(binary) : undefined;
  const info = containerd.types.RuntimeInfo.create({
    name: RUNTIME_NAME,
    version: { version: VERSION, revision: '' },
    options: options ?? null,
    features: features ? { type_url: FEATURES_TYPE_URL, value: features } : null,
    annotations: {
      'switchyard.dev/default-runtime': cfg.defaultRuntime,
      'switchyard.dev/runtimes': Object.keys(cfg.runtimes).sort().join(','),
      ...(binary ? { 'switchyard.dev/features-from': binary } : {}),
    },
  });
  return containerd.types.RuntimeInfo.encode(info).finish();
}

export async function info(): Promise<number> {
  try {
    let stdin: Buffer;
    try {
      stdin = fs.readFileSync(0);
    } catch {
      stdin = Buffer.alloc(0);
    }
    const cfg = loadConfig(decodeRuntimeOptions(stdin)?.configPath);
    process.stdout.write(await runtimeInfo(cfg, stdin));
    return 0;
  } catch (err) {
    process.stderr.write(`switchyard -info: ${describe(err)}\n`);
    return 1;
  }
}

/** Whether a runtime's binary exists: the router's `available` predicate, outside the router. */
import fs from 'node:fs';
import path from 'node:path';
import type { RuntimeConfig } from '../config/config.js';

/**
 * The executable `binary` resolves to: an absolute path is checked as is; a name is looked up
 * in PATH's absolute entries. Empty and relative entries are skipped on purpose: the shim
 * runs in the bundle directory, and nothing there may stand in for a runtime.
 */
export function findOnPath(binary: string, PATH: string = process.env.PATH ?? ''): string | undefined {
  if (!binary) return undefined;
  if (binary.includes('/')) return path.isAbsolute(binary) && isExecutableFile(binary) ? binary : undefined;
  for (const dir of PATH.split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, binary);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** The predicate route() takes, looking binaries up in PATH at each call. */
export function availableOnPath(PATH: string = process.env.PATH ?? ''): (rt: RuntimeConfig) => boolean {
  return (rt) => findOnPath(rt.binary, PATH) !== undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `[runtimes.NAME]` tables. runc, crun and runsc are predefined, so a node works with
 * no file; a table with a predefined name overrides only the fields it sets.
 */
import path from 'node:path';
import { OCI_FLAVOURS, type OciFlavour, type OciRuntimeConfig, type RuntimeConfig, type ShimRuntimeConfig } from './types.js';
import { isTable, type Fields, type Table } from './fields.js';
import type { KeyPath } from './toml-lines.js';
import { flagName, parseRunscConfig, runscConfigFlags } from './runsc-config.js';

export const PREDEFINED_RUNTIMES: readonly OciFlavour[] = ['runc', 'crun', 'runsc'];

/** Runtime names double as directory names under state_dir and as annotation values. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Directories of state_dir that Switchyard itself uses; a runtime root must not land there. */
const RESERVED = ['daemons'];
/** Flags the OCI driver sets itself; in `args` they would fight it. */
const DRIVER_FLAGS = ['--root', '--log', '--log-format'];

const OCI_KEYS = ['type', 'binary', 'root', 'flavour', 'args', 'runsc_config'];
const SHIM_KEYS = ['type', 'binary', 'options'];

export function predefinedRuntimes(stateDir: string, runtimeRoot: string): Record<string, RuntimeConfig> {
  const out: Record<string, RuntimeConfig> = {};
  for (const name of PREDEFINED_RUNTIMES) {
    out[name] = { name, type: 'oci', binary: name, root: defaultRoot(name, stateDir, runtimeRoot), flavour: name, args: [] };
  }
  return out;
}

function defaultRoot(name: string, stateDir: string, runtimeRoot: string): string {
  return name === 'runc' ? runtimeRoot : path.join(stateDir, name);
}

/**
 * Reads the `runtimes` table over the predefined ones. stateDir and runtimeRoot are the
 * final values, so every OCI runtime without a `root` gets `<state_dir>/<name>` (runc:
 * runtime_root).
 */
export function parseRuntimes(value: unknown, f: Fields, stateDir: string, runtimeRoot: string): Record<string, RuntimeConfig> {
  const base: KeyPath = ['runtimes'];
  const out = predefinedRuntimes(stateDir, runtimeRoot);
  if (value === undefined) return out;
  const tables = f.table(value, base);
  for (const [name, raw] of Object.entries(tables)) {
    const at: KeyPath = [...base, name];
    if (!NAME.test(name)) throw f.bad(at, 'a runtime name is letters, digits, ".", "_" and "-", starting with a letter or digit');
    if (RESERVED.includes(name)) throw f.bad(at, `"${name}" is reserved for Switchyard's own state`);
    if (!isTable(raw)) throw f.bad(at, 'must be a table');
    out[name] = parseRuntime(name, raw, out[name], f, at, stateDir, runtimeRoot);
  }
  return out;
}

function parseRuntime(name: string, t: Table, predefined: RuntimeConfig | undefined, f: Fields, at: KeyPath, stateDir: string, runtimeRoot: string): RuntimeConfig {
  let type: 'oci' | 'shim' = predefined?.type ?? 'oci';
  if (t.type !== undefined) {
    if (t.type !== 'oci' && t.type !== 'shim') throw f.bad([...at, 'type'], 'must be "oci" or "shim"');
    type = t.type;
  }
  if (type === 'shim') {
    f.onlyKeys(t, SHIM_KEYS, at, 'not a key of a type = "shim" runtime (binary, options)');
    const prev = predefined?.type === 'shim' ? predefined : undefined;
    const binary = t.binary !== undefined ? parseBinary(t.binary, f, [...at, 'binary']) : prev?.binary;
    if (!binary) throw f.bad([...at, 'binary'], 'required');
    const out: ShimRuntimeConfig = { name, type, binary };
    const options = t.options !== undefined ? f.table(t.options, [...at, 'options']) : prev?.options;
    if (options) out.options = options;
    return out;
  }
  f.onlyKeys(t, OCI_KEYS, at, 'not a key of a type = "oci" runtime (binary, root, flavour, args, runsc_config)');
  // A predefined name given another type is a new runtime: nothing of the old one carries over.
  const prev = predefined?.type === 'oci' ? predefined : undefined;
  const binary = t.binary !== undefined ? parseBinary(t.binary, f, [...at, 'binary']) : prev?.binary;
  if (!binary) throw f.bad([...at, 'binary'], 'required');
  let root = prev?.root ?? defaultRoot(name, stateDir, runtimeRoot);
  if (t.root !== undefined) {
    root = f.string(t.root, [...at, 'root']);
    if (!path.isAbsolute(root)) throw f.bad([...at, 'root'], 'must be an absolute path');
    root = path.normalize(root);
  }
  let flavour = prev?.flavour;
  if (t.flavour !== undefined) {
    if (!OCI_FLAVOURS.includes(t.flavour as OciFlavour)) throw f.bad([...at, 'flavour'], `must be one of ${OCI_FLAVOURS.join(', ')}`);
    flavour = t.flavour as OciFlavour;
  }
  if (!flavour) {
    const guess = path.basename(binary) as OciFlavour;
    if (!OCI_FLAVOURS.includes(guess)) throw f.bad([...at, 'flavour'], `required: binary "${binary}" is not named runc, crun or runsc`);
    flavour = guess;
  }
  let args = prev?.args ?? [];
  if (t.args !== undefined) {
    args = [...f.strings(t.args, [...at, 'args'])];
    for (const a of args) {
      const flag = DRIVER_FLAGS.find((d) => a === d || a.startsWith(`${d}=`));
      if (flag) throw f.bad([...at, 'args'], `${flag} is set by Switchyard${flag === '--root' ? ' from root' : ''}`);
    }
  }
  const out: OciRuntimeConfig = { name, type: 'oci', binary, root, flavour, args };
  const runscConfig = t.runsc_config !== undefined ? parseRunscConfig(t.runsc_config, f, [...at, 'runsc_config']) : prev?.runscConfig;
  if (runscConfig) {
    if (flavour !== 'runsc') throw f.bad([...at, 'runsc_config'], `only for flavour = "runsc" (this runtime is ${flavour})`);
    // One place for each flag: runsc takes the last of two, which would hide a mistake.
    const inArgs = args.map(flagName).find((n) => n !== undefined && Object.hasOwn(runscConfig, n));
    if (inArgs) throw f.bad([...at, 'runsc_config', inArgs], `also set in args; set it in one place`);
    out.runscConfig = runscConfig;
  }
  return out;
}

/** Every global flag an OCI runtime gets after --root/--log: args, then runsc_config's. */
export function runtimeFlags(rt: OciRuntimeConfig): string[] {
  return rt.runscConfig ? [...rt.args, ...runscConfigFlags(rt.runscConfig)] : rt.args;
}

function parseBinary(value: unknown, f: Fields, at: KeyPath): string {
  const binary = f.nonEmptyString(value, at);
  if (binary.includes('/') && !path.isAbsolute(binary)) throw f.bad(at, 'must be a command name found on PATH or an absolute path');
  return binary;
}

import fs from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { invalidArgument, failedPrecondition } from '../errors/index.js';

/** How tasks share daemons: one per containerd namespace, or one per pod (sandbox). */
export type Grouping = 'namespace' | 'pod';
export type Protocol = 'ttrpc' | 'grpc';

export interface Config {
  /** Where it came from, for error messages and `switchyard doctor`. */
  source: string;
  protocol: Protocol;
  grouping: Grouping;
  /** How long a daemon with no tasks stays warm before it exits. */
  idleTimeoutMs: number;
  /** Daemon state: pid, log, decision records. */
  stateDir: string;
  /** Base of the OCI runtime's --root; the namespace is appended. */
  runtimeRoot: string;
  /** Time limit for each OCI runtime CLI call. */
  runtimeTimeoutMs: number;
  logLevel: string;
}

export const DEFAULT_CONFIG_PATH = '/etc/switchyard/config.toml';

export const defaults: Omit<Config, 'source'> = {
  protocol: 'ttrpc',
  grouping: 'namespace',
  idleTimeoutMs: 30_000,
  stateDir: '/run/switchyard',
  runtimeRoot: '/run/switchyard/runc',
  runtimeTimeoutMs: 60_000,
  logLevel: 'info',
};

/**
 * The config file in effect: an explicit path (containerd's runtime options) wins over
 * SWITCHYARD_CONFIG, which wins over the default path. A missing default file means
 * defaults; a missing explicit file is an error, so a typo is never silently ignored.
 */
export function loadConfig(explicitPath?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const path = explicitPath || env.SWITCHYARD_CONFIG || '';
  if (!path) {
    if (!fs.existsSync(DEFAULT_CONFIG_PATH)) return { ...defaults, source: '(defaults)' };
    return parseConfig(fs.readFileSync(DEFAULT_CONFIG_PATH, 'utf8'), DEFAULT_CONFIG_PATH);
  }
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw failedPrecondition(`config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, source: string): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      throw invalidArgument(`${source}:${err.line}:${err.column}: ${err.message.split('\n')[0]}`, err);
    }
    throw invalidArgument(`${source}: ${(err as Error).message}`, err);
  }
  const cfg: Config = { ...defaults, source };
  const bad = (key: string, why: string) => invalidArgument(`${source}:${lineOf(text, key)}: ${key}: ${why}`);
  for (const [key, value] of Object.entries(doc)) {
    switch (key) {
      case 'protocol':
        if (value !== 'ttrpc' && value !== 'grpc') throw bad(key, 'must be "ttrpc" or "grpc"');
        cfg.protocol = value;
        break;
      case 'grouping':
        if (value !== 'namespace' && value !== 'pod') throw bad(key, 'must be "namespace" or "pod"');
        cfg.grouping = value;
        break;
      case 'idle_timeout':
        cfg.idleTimeoutMs = duration(value, () => bad(key, 'must be a duration such as "30s", "500ms" or "2m"'));
        break;
      case 'runtime_timeout':
        cfg.runtimeTimeoutMs = duration(value, () => bad(key, 'must be a duration such as "60s"'));
        break;
      case 'state_dir':
      case 'runtime_root':
        if (typeof value !== 'string' || !value.startsWith('/')) throw bad(key, 'must be an absolute path');
        if (key === 'state_dir') cfg.stateDir = value;
        else cfg.runtimeRoot = value;
        break;
      case 'log_level':
        if (typeof value !== 'string' || !['trace', 'debug', 'info', 'warn', 'error'].includes(value)) {
          throw bad(key, 'must be one of trace, debug, info, warn, error');
        }
        cfg.logLevel = value;
        break;
      default:
        throw bad(key, 'unknown key');
    }
  }
  return cfg;
}

function duration(value: unknown, fail: () => Error): number {
  if (typeof value === 'number' && value >= 0) return value * 1000;
  if (typeof value !== 'string') throw fail();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) throw fail();
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function lineOf(text: string, key: string): number {
  const lines = text.split('\n');
  const re = new RegExp(`^\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`);
  const i = lines.findIndex((l) => re.test(l));
  return i < 0 ? 1 : i + 1;
}

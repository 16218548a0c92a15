import fs from 'node:fs';
import path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { invalidArgument, failedPrecondition } from '../errors/index.js';
import type { Config } from './types.js';
import { Fields, listNames, type Table } from './fields.js';
import { TomlLines } from './toml-lines.js';
import { parseRuntimes, predefinedRuntimes } from './runtimes.js';
import { defaultPolicy, parsePolicy } from './policy.js';

export type * from './types.js';

export const DEFAULT_CONFIG_PATH = '/etc/switchyard/config.toml';
export const DEFAULT_ANNOTATION_KEY = 'switchyard.dev/runtime';

const DEFAULT_STATE_DIR = '/run/switchyard';

/** A fresh config with every default: runc, crun and runsc, runc the default, no rules. */
export function defaultConfig(source = '(defaults)'): Config {
  const stateDir = DEFAULT_STATE_DIR;
  const runtimeRoot = path.join(stateDir, 'runc');
  return {
    source,
    protocol: 'ttrpc',
    bootstrapVersion: 'auto',
    grouping: 'namespace',
    idleTimeoutMs: 30_000,
    stateDir,
    runtimeRoot,
    runtimeTimeoutMs: 60_000,
    logLevel: 'info',
    runtimes: predefinedRuntimes(stateDir, runtimeRoot),
    defaultRuntime: 'runc',
    annotationKey: DEFAULT_ANNOTATION_KEY,
    policy: defaultPolicy(),
  };
}

const { source: _source, ...defaultValues } = defaultConfig();
/** The defaults, for reading; parseConfig and loadConfig build their own copies. */
export const defaults: Readonly<Omit<Config, 'source'>> = defaultValues;

/**
 * The config file in effect: an explicit path (containerd's runtime options) wins over
 * SWITCHYARD_CONFIG, which wins over the default path. A missing default file means
 * defaults; a missing explicit file is an error, so a typo is never silently ignored.
 */
export function loadConfig(explicitPath?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const path = explicitPath || env.SWITCHYARD_CONFIG || '';
  if (!path) {
    if (!fs.existsSync(DEFAULT_CONFIG_PATH)) return defaultConfig();
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

/** Kubernetes annotation keys: an optional DNS-subdomain prefix and `/`, then a name. */
const ANNOTATION_KEY = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * Validates a config file into a Config. Every refusal is an InvalidArgument reading
 * `file:line: key: reason`; unknown keys are refused, never ignored.
 */
export function parseConfig(text: string, source: string): Config {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      throw invalidArgument(`${source}:${err.line}:${err.column}: ${err.message.split('\n')[0]}`, err);
    }
    throw invalidArgument(`${source}: ${(err as Error).message}`, err);
  }
  const f = new Fields(source, new TomlLines(text));
  const cfg = defaultConfig(source);
  let runtimeRootSet = false;
  let defaultRuntimeSet = false;
  for (const [key, value] of Object.entries(doc)) {
    const bad = (why: string) => f.bad([key], why);
    switch (key) {
      case 'protocol':
        if (value !== 'ttrpc' && value !== 'grpc') throw bad('must be "ttrpc" or "grpc"');
        cfg.protocol = value;
        break;
      case 'bootstrap_version':
        if (value !== 'auto' && value !== 2 && value !== 3) throw bad('must be "auto", 2 or 3');
        cfg.bootstrapVersion = value;
        break;
      case 'grouping':
        if (value !== 'namespace' && value !== 'pod') throw bad('must be "namespace" or "pod"');
        cfg.grouping = value;
        break;
      case 'idle_timeout':
        cfg.idleTimeoutMs = duration(value, () => bad('must be a duration such as "30s", "500ms" or "2m"'));
        break;
      case 'runtime_timeout':
        cfg.runtimeTimeoutMs = duration(value, () => bad('must be a duration such as "60s"'));
        break;
      case 'state_dir':
      case 'runtime_root':
        if (typeof value !== 'string' || !value.startsWith('/')) throw bad('must be an absolute path');
        if (key === 'state_dir') cfg.stateDir = path.normalize(value);
        else {
          cfg.runtimeRoot = path.normalize(value);
          runtimeRootSet = true;
        }
        break;
      case 'log_level':
        if (typeof value !== 'string' || !['trace', 'debug', 'info', 'warn', 'error'].includes(value)) {
          throw bad('must be one of trace, debug, info, warn, error');
        }
        cfg.logLevel = value;
        break;
      case 'metrics_address': {
        // Metrics name every task and rule: never on a routable interface.
        const ok = typeof value === 'string' && (/^unix:\/\/\/\S+$/.test(value) || /^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/.test(value));
        if (!ok) throw bad('must be "unix:///path" or a loopback "127.0.0.1:PORT"');
        cfg.metricsAddress = value as string;
        break;
      }
      case 'default_runtime':
        cfg.defaultRuntime = f.nonEmptyString(value, [key]);
        defaultRuntimeSet = true;
        break;
      case 'annotation_key':
        if (typeof value !== 'string' || !ANNOTATION_KEY.test(value)) throw bad('must be a Kubernetes annotation key such as "switchyard.dev/runtime"');
        cfg.annotationKey = value;
        break;
      case 'runtimes':
      case 'policy':
        // Read below, once every top-level value they depend on is known.
        break;
      default:
        throw bad('unknown key');
    }
  }
  // runc's root follows state_dir unless runtime_root places it elsewhere.
  if (!runtimeRootSet) cfg.runtimeRoot = path.join(cfg.stateDir, 'runc');
  cfg.runtimes = parseRuntimes(doc.runtimes, f, cfg.stateDir, cfg.runtimeRoot);
  const runcRoot = cfg.runtimes.runc;
  if (runcRoot?.type === 'oci') cfg.runtimeRoot = runcRoot.root;
  if (defaultRuntimeSet && !Object.hasOwn(cfg.runtimes, cfg.defaultRuntime)) {
    throw f.bad(['default_runtime'], `unknown runtime "${cfg.defaultRuntime}"; known: ${listNames(Object.keys(cfg.runtimes))}`);
  }
  cfg.policy = parsePolicy(doc.policy, f, cfg.runtimes, cfg.defaultRuntime);
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

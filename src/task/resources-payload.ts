/**
 * The resources of a Task API Update: containerd marshals the OCI LinuxResources Go
 * struct, which is no protobuf message, as JSON inside the Any. Decoded and checked here,
 * where the request enters, so a bad field is InvalidArgument naming it rather than a
 * `runc update` failure further in.
 */
import { invalidArgument } from '../errors/index.js';

export const LINUX_RESOURCES_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';
/** A LinuxResources is at most a few KiB; this bounds a hostile one. */
const MAX_JSON = 1 << 20;

/** The subset of the OCI runtime spec's LinuxResources that `runc update` applies. */
export interface LinuxResources {
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  /** cgroup v2 file name → value, written as is. */
  unified?: Record<string, string>;
}

/** Bytes; -1 means unlimited for limit and swap. */
export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  /** Microseconds per period; -1 means unlimited. */
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  limit?: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  pageSize: string;
  limit: number;
}

/** google.protobuf.Any as the generated code and the Task API hand it over. */
export interface ResourcesAny {
  type_url?: string | null;
  value?: Uint8Array | null;
}

/**
 * The LinuxResources an Update carries. Throws invalidArgument naming the type URL, the
 * JSON error, or the first field of the wrong type. Fields runc update does not apply
 * (devices, network, rdma) and unknown ones are dropped.
 */
export function decodeLinuxResources(any: ResourcesAny | null | undefined): LinuxResources {
  if (!any || (!any.type_url && !any.value?.length)) throw invalidArgument('resources: an update needs a LinuxResources payload');
  const url = any.type_url ?? '';
  // containerd writes the bare name; a type.googleapis.com/-style prefix names the same type.
  if (url !== LINUX_RESOURCES_TYPE && !url.endsWith(`/${LINUX_RESOURCES_TYPE}`)) {
    throw invalidArgument(`resources: type ${JSON.stringify(url)} is not ${LINUX_RESOURCES_TYPE}`);
  }
  const bytes = any.value ?? new Uint8Array();
  if (bytes.length > MAX_JSON) throw invalidArgument(`resources: ${bytes.length} bytes is larger than ${MAX_JSON}`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (err) {
    throw invalidArgument(`resources: invalid JSON: ${(err as Error).message}`, err);
  }
  return checkResources(json);
}

/**
 * Writes resources where `runc update --resources FILE` can read them and returns the
 * file's path. A fresh name per call, so concurrent updates never share a file; the
 * caller removes it when runc is done.
 */

type Kind = 'int64' | 'uint64' | 'uint16' | 'bool' | 'string';
type Shape = Record<string, Kind>;

const MEMORY: Shape = {
  limit: 'int64',
  reservation: 'int64',
  swap: 'int64',
  kernel: 'int64',
  kernelTCP: 'int64',
  swappiness: 'uint64',
  disableOOMKiller: 'bool',
  useHierarchy: 'bool',
  checkBeforeUpdate: 'bool',
};
const CPU: Shape = {
  shares: 'uint64',
  quota: 'int64',
  burst: 'uint64',
  period: 'uint64',
  realtimeRuntime: 'int64',
  realtimePeriod: 'uint64',
  cpus: 'string',
  mems: 'string',
  idle: 'int64',
};
const PIDS: Shape = { limit: 'int64' };
const BLOCK_IO: Shape = { weight: 'uint16', leafWeight: 'uint16' };
const WEIGHT_DEVICE: Shape = { major: 'int64', minor: 'int64', weight: 'uint16', leafWeight: 'uint16' };
const THROTTLE_DEVICE: Shape = { major: 'int64', minor: 'int64', rate: 'uint64' };
const HUGEPAGE_LIMIT: Shape = { pageSize: 'string', limit: 'uint64' };
const THROTTLE_LISTS = ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const;

function checkResources(json: unknown): LinuxResources {
  const r = object('resources', json);
  const out: LinuxResources = {};
  // null is how Go writes an unset pointer field: the same as leaving it out.
  if (r.memory != null) out.memory = fields('resources.memory', r.memory, MEMORY) as LinuxMemory;
  if (r.cpu != null) out.cpu = fields('resources.cpu', r.cpu, CPU) as LinuxCPU;
  if (r.pids != null) out.pids = fields('resources.pids', r.pids, PIDS) as LinuxPids;
  if (r.blockIO != null) out.blockIO = checkBlockIO(r.blockIO);
  if (r.hugepageLimits != null) {
    out.hugepageLimits = list('resources.hugepageLimits', r.hugepageLimits, (name, v) => fields(name, v, HUGEPAGE_LIMIT, ['pageSize', 'limit']) as unknown as LinuxHugepageLimit);
  }
  if (r.unified != null) {
    const u = object('resources.unified', r.unified);
    for (const [k, v] of Object.entries(u)) {
      if (typeof v !== 'string') throw invalidArgument(`resources.unified.${k}: must be a string, got ${describe(v)}`);
    }
    out.unified = { ...(u as Record<string, string>) };
  }
  return out;
}

function checkBlockIO(json: unknown): LinuxBlockIO {
  const name = 'resources.blockIO';
  const b = object(name, json);
  const out = fields(name, b, BLOCK_IO) as LinuxBlockIO;
  if (b.weightDevice != null) {
    out.weightDevice = list(`${name}.weightDevice`, b.weightDevice, (n, v) => fields(n, v, WEIGHT_DEVICE, ['major', 'minor']) as unknown as LinuxWeightDevice);
  }
  for (const key of THROTTLE_LISTS) {
    if (b[key] == null) continue;
    out[key] = list(`${name}.${key}`, b[key], (n, v) => fields(n, v, THROTTLE_DEVICE, ['major', 'minor', 'rate']) as unknown as LinuxThrottleDevice);
  }
  return out;
}

/** The fields of shape present in json, each checked; `required` ones must be there. */
function fields(name: string, json: unknown, shape: Shape, required: readonly string[] = []): Record<string, unknown> {
  const o = object(name, json);
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(shape)) {
    const v = o[key];
    if (v == null) {
      if (required.includes(key)) throw invalidArgument(`${name}.${key}: required`);
      continue;
    }
    out[key] = check(`${name}.${key}`, v, kind);
  }
  return out;
}

function check(name: string, v: unknown, kind: Kind): unknown {
  if (kind === 'bool') {
    if (typeof v !== 'boolean') throw invalidArgument(`${name}: must be a boolean, got ${describe(v)}`);
    return v;
  }
  if (kind === 'string') {
    if (typeof v !== 'string') throw invalidArgument(`${name}: must be a string, got ${describe(v)}`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgument(`${name}: must be an integer, got ${describe(v)}`);
  // JSON.parse has already rounded anything past 2^53, and writing the rounded value
  // back for runc could overflow Go's int64 (2^63-1 becomes 2^63): refuse, don't guess.
  if (!Number.isSafeInteger(v)) throw invalidArgument(`${name}: ${v} is beyond the exactly representable range (±2^53-1)`);
  if (kind !== 'int64' && v < 0) throw invalidArgument(`${name}: must not be negative, got ${v}`);
  if (kind === 'uint16' && v > 0xffff) throw invalidArgument(`${name}: must be at most 65535, got ${v}`);
  return v;
}

function object(name: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(`${name}: must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

function list<T>(name: string, v: unknown, item: (name: string, v: unknown) => T): T[] {
  if (!Array.isArray(v)) throw invalidArgument(`${name}: must be a list, got ${describe(v)}`);
  return v.map((x, i) => item(`${name}[${i}]`, x));
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

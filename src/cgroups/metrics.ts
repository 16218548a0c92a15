/**
 * The Task API's Stats payload: a cgroup's metrics as the google.protobuf.Any that
 * `ctr task metrics` and the CRI plugin decode, with the bare type names containerd uses.
 */
import { io } from '../gen/proto.js';
import type { Cgroup } from './types.js';
import { type V1Metrics, readV1Metrics } from './v1-stats.js';
import { type V2Metrics, readV2Metrics } from './v2-stats.js';

export const V1_METRICS_TYPE = 'io.containerd.cgroups.v1.Metrics';
export const V2_METRICS_TYPE = 'io.containerd.cgroups.v2.Metrics';

/** The shape of google.protobuf.Any in the generated code. */
export interface MetricsAny {
  type_url: string;
  value: Uint8Array;
}

/** Reads the cgroup and encodes its metrics; notFound when the cgroup is gone. */
export async function collectMetrics(cg: Cgroup): Promise<MetricsAny> {
  return cg.version === 1 ? encodeV1Metrics(await readV1Metrics(cg)) : encodeV2Metrics(await readV2Metrics(cg.path));
}

export function encodeV1Metrics(m: V1Metrics): MetricsAny {
  return { type_url: V1_METRICS_TYPE, value: io.containerd.cgroups.v1.Metrics.encode(forWire(m)).finish() };
}

export function encodeV2Metrics(m: V2Metrics): MetricsAny {
  return { type_url: V2_METRICS_TYPE, value: io.containerd.cgroups.v2.Metrics.encode(forWire(m)).finish() };
}

/**
 * The generated code types uint64 as number, and a number cannot hold 2^64-1: it rounds
 * to 2^64, which protobufjs's writer wraps to 0, turning "no limit" into "limit 0".
 * protobufjs also accepts a {low, high} pair for 64-bit fields, so UNLIMITED (Infinity)
 * becomes all-ones bits at the last moment, and nothing upstream sees the odd value.
 */
const UINT64_MAX_BITS = { low: 0xffffffff, high: 0xffffffff, unsigned: true } as unknown as number;

function forWire<T>(value: T): T {
  if (value === Number.POSITIVE_INFINITY) return UINT64_MAX_BITS as T;
  if (Array.isArray(value)) return value.map(forWire) as T;
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = forWire(v);
  return out as T;
}

/**
 * Metrics of a cgroup v2 container, read the way containerd's cgroups library reads them
 * (cgroup2 package). Unlike v1, "max" in a limit file is reported as the largest
 * uint64; here it reads as UNLIMITED (Infinity) and metrics.ts puts 2^64-1 on the wire.
 */
import fs from 'node:fs/promises';
import type { io } from '../gen/proto.js';
import { type PsiLine, assertCgroupDirs, parseCounter, parseFlatKeyed, parsePressure, pickKeys, readCgroupFile } from './files.js';

export type V2Metrics = io.containerd.cgroups.v2.Metrics.$Properties;
type MemoryStat = io.containerd.cgroups.v2.MemoryStat.$Properties;
type CPUStat = io.containerd.cgroups.v2.CPUStat.$Properties;
type MemoryEvents = io.containerd.cgroups.v2.MemoryEvents.$Properties;
type IOEntry = io.containerd.cgroups.v2.IOEntry.$Properties;
type PSIStats = io.containerd.cgroups.v2.PSIStats.$Properties;

/** What a v2 "max" limit reads as before encoding. */
export const UNLIMITED = Number.POSITIVE_INFINITY;

/** Every section the cgroup has files for; throws notFound if the directory is gone. */
export async function readV2Metrics(dir: string): Promise<V2Metrics> {
  await assertCgroupDirs([dir]);
  const read = (name: string) => readCgroupFile(dir, name);
  const [pidsCurrent, pidsMax, cpuStat, cpuPressure, memory, memoryEvents, ioStat, ioPressure, hugetlb] = await Promise.all([
    read('pids.current'),
    read('pids.max'),
    read('cpu.stat'),
    read('cpu.pressure'),
    readMemory(dir),
    read('memory.events'),
    read('io.stat'),
    read('io.pressure'),
    readHugetlb(dir),
  ]);
  const out: V2Metrics = {};
  if (pidsCurrent !== undefined) {
    out.pids = { current: parseCounter(pidsCurrent, UNLIMITED) ?? 0, limit: pidsMax === undefined ? 0 : (parseCounter(pidsMax, UNLIMITED) ?? 0) };
  }
  // cpu.stat is there even without the cpu controller (usage only, no throttling).
  if (cpuStat !== undefined) out.cpu = { ...parseV2CpuStat(cpuStat), psi: psiOf(cpuPressure) };
  if (memory) out.memory = memory;
  if (memoryEvents !== undefined) out.memoryEvents = parseMemoryEvents(memoryEvents);
  if (ioStat !== undefined) out.io = { usage: parseIoStat(ioStat), psi: psiOf(ioPressure) };
  if (hugetlb.length) out.hugetlb = hugetlb;
  return out;
}

const CPU_STAT_KEYS: readonly (readonly [keyof CPUStat & string, string])[] = [
  ['usageUsec', 'usage_usec'],
  ['userUsec', 'user_usec'],
  ['systemUsec', 'system_usec'],
  ['nrPeriods', 'nr_periods'],
  ['nrThrottled', 'nr_throttled'],
  ['throttledUsec', 'throttled_usec'],
  ['nrBursts', 'nr_bursts'],
  ['burstUsec', 'burst_usec'],
];

export function parseV2CpuStat(text: string): CPUStat {
  return pickKeys<CPUStat>(parseFlatKeyed(text), CPU_STAT_KEYS);
}

/** memory.stat keys whose field name is the key itself, camel-cased by protobufjs. */
const MEMORY_STAT_KEYS = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback',
  'anon_thp', 'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable',
  'slab_reclaimable', 'slab_unreclaimable', 'pgfault', 'pgmajfault', 'workingset_refault',
  'workingset_activate', 'workingset_nodereclaim', 'pgrefill', 'pgscan', 'pgsteal', 'pgactivate',
  'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc', 'thp_collapse_alloc',
  'workingset_refault_anon', 'workingset_refault_file', 'workingset_activate_anon', 'workingset_activate_file',
].map((key) => [camel(key) as keyof MemoryStat & string, key] as const);

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** memory.stat to the MemoryStat fields it carries (not usage, limits or PSI). */
export function parseV2MemoryStat(text: string): MemoryStat {
  return pickKeys<MemoryStat>(parseFlatKeyed(text), MEMORY_STAT_KEYS);
}

/** MemoryStat fields that come from a one-number file of their own. */
const MEMORY_FILES = [
  ['usage', 'memory.current'],
  ['usageLimit', 'memory.max'],
  ['maxUsage', 'memory.peak'],
  ['swapUsage', 'memory.swap.current'],
  ['swapLimit', 'memory.swap.max'],
  ['swapMaxUsage', 'memory.swap.peak'],
] as const;

async function readMemory(dir: string): Promise<MemoryStat | undefined> {
  const [stat, pressure, ...files] = await Promise.all([
    readCgroupFile(dir, 'memory.stat'),
    readCgroupFile(dir, 'memory.pressure'),
    ...MEMORY_FILES.map(([, name]) => readCgroupFile(dir, name)),
  ]);
  // The root cgroup has memory.stat but no memory.current; a cgroup without the memory
  // controller has neither.
  if (stat === undefined && files[0] === undefined) return undefined;
  const out: MemoryStat = stat === undefined ? {} : parseV2MemoryStat(stat);
  MEMORY_FILES.forEach(([field], i) => {
    const text = files[i];
    const v = text === undefined ? undefined : parseCounter(text, UNLIMITED);
    if (v !== undefined) out[field] = v;
  });
  out.psi = psiOf(pressure);
  return out;
}

export function parseMemoryEvents(text: string): MemoryEvents {
  const kv = parseFlatKeyed(text);
  return {
    low: kv.get('low') ?? 0,
    high: kv.get('high') ?? 0,
    max: kv.get('max') ?? 0,
    oom: kv.get('oom') ?? 0,
    oomKill: kv.get('oom_kill') ?? 0,
    oomGroupKill: kv.get('oom_group_kill') ?? 0,
  };
}

/**
 * io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=.." per device;
 * keys the message has no field for (discards, cost.* from io.cost) are dropped.
 */
export function parseIoStat(text: string): IOEntry[] {
  const out: IOEntry[] = [];
  for (const line of text.split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const entry: IOEntry = { major: Number(m[1]), minor: Number(m[2]), rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
    for (const pair of pairs) {
      const [k, raw] = pair.split('=');
      const v = raw === undefined ? undefined : parseCounter(raw, 0);
      if (v === undefined) continue;
      if (k === 'rbytes' || k === 'wbytes' || k === 'rios' || k === 'wios') entry[k] = v;
    }
    out.push(entry);
  }
  return out;
}

function psiOf(text: string | undefined): PSIStats | null {
  if (text === undefined) return null;
  const p = parsePressure(text);
  const line = (l: PsiLine | undefined) => (l ? { ...l } : null);
  return { some: line(p.some), full: line(p.full) };
}

/** hugetlb.<size>.{current,max,events}; sizes as the kernel names the files ("2MB"). */
async function readHugetlb(dir: string): Promise<io.containerd.cgroups.v2.HugeTlbStat.$Properties[]> {
  const sizes = (await fs.readdir(dir).catch(() => [] as string[]))
    .map((n) => /^hugetlb\.([^.]+)\.current$/.exec(n)?.[1])
    .filter((s): s is string => !!s)
    .sort();
  return Promise.all(
    sizes.map(async (pagesize) => {
      const [current, max, events] = await Promise.all([
        readCgroupFile(dir, `hugetlb.${pagesize}.current`),
        readCgroupFile(dir, `hugetlb.${pagesize}.max`),
        readCgroupFile(dir, `hugetlb.${pagesize}.events`),
      ]);
      return {
        pagesize,
        current: parseCounter(current ?? '0', UNLIMITED) ?? 0,
        max: parseCounter(max ?? '0', UNLIMITED) ?? 0,
        // hugetlb.<size>.events counts allocations refused at the limit under "max".
        failcnt: events === undefined ? 0 : (parseFlatKeyed(events).get('max') ?? 0),
      };
    }),
  );
}

/**
 * Metrics of a cgroup v1 container, read the way containerd's cgroups library reads them
 * (cgroup1 package), so `ctr task metrics` shows the same numbers as for a runc shim.
 */
import fs from 'node:fs/promises';
import type { io } from '../gen/proto.js';
import { assertCgroupDirs, parseCounter, parseFlatKeyed, pickKeys, readCgroupFile } from './files.js';
import type { V1Cgroup } from './types.js';

export type V1Metrics = io.containerd.cgroups.v1.Metrics.$Properties;
type MemoryStat = io.containerd.cgroups.v1.MemoryStat.$Properties;
type MemoryEntry = io.containerd.cgroups.v1.MemoryEntry.$Properties;
type BlkIOEntry = io.containerd.cgroups.v1.BlkIOEntry.$Properties;
type BlkIOStat = io.containerd.cgroups.v1.BlkIOStat.$Properties;

/**
 * cpuacct.stat counts USER_HZ ticks. USER_HZ is 100 on every Linux architecture (the
 * kernel's HZ varies, but what it exports to user space does not), which is also why
 * containerd hard-codes it instead of calling sysconf.
 */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

/** Every section whose controller is in cg.paths; throws notFound if a directory is gone. */
export async function readV1Metrics(cg: V1Cgroup): Promise<V1Metrics> {
  const p = cg.paths;
  await assertCgroupDirs([p.pids, p.cpuacct, p.cpu, p.memory, p.blkio, p.hugetlb].filter((d): d is string => !!d));
  const [pids, cpu, memory, blkio, hugetlb] = await Promise.all([
    p.pids ? readPids(p.pids) : undefined,
    p.cpuacct || p.cpu ? readCpu(p.cpuacct, p.cpu) : undefined,
    p.memory ? readMemory(p.memory) : undefined,
    p.blkio ? readBlkio(p.blkio) : undefined,
    p.hugetlb ? readHugetlb(p.hugetlb) : undefined,
  ]);
  const out: V1Metrics = {};
  if (pids) out.pids = pids;
  if (cpu) out.cpu = cpu;
  if (memory) {
    out.memory = memory.memory;
    if (memory.oom) out.memoryOomControl = memory.oom;
  }
  if (blkio) out.blkio = blkio;
  if (hugetlb?.length) out.hugetlb = hugetlb;
  return out;
}

async function readPids(dir: string): Promise<V1Metrics['pids']> {
  const [current, max] = await Promise.all([readCgroupFile(dir, 'pids.current'), readCgroupFile(dir, 'pids.max')]);
  // The root cgroup has neither file.
  if (current === undefined) return undefined;
  // v1 reports "no limit" as 0, unlike v2.
  return { current: parseCounter(current, 0) ?? 0, limit: max === undefined ? 0 : (parseCounter(max, 0) ?? 0) };
}

async function readCpu(cpuacctDir: string | undefined, cpuDir: string | undefined): Promise<V1Metrics['cpu']> {
  const [usage, percpu, stat, cpuStat] = await Promise.all([
    cpuacctDir ? readCgroupFile(cpuacctDir, 'cpuacct.usage') : undefined,
    cpuacctDir ? readCgroupFile(cpuacctDir, 'cpuacct.usage_percpu') : undefined,
    cpuacctDir ? readCgroupFile(cpuacctDir, 'cpuacct.stat') : undefined,
    cpuDir ? readCgroupFile(cpuDir, 'cpu.stat') : undefined,
  ]);
  const ticks = stat === undefined ? new Map<string, number>() : parseFlatKeyed(stat);
  return {
    usage: {
      total: usage === undefined ? 0 : (parseCounter(usage, 0) ?? 0),
      kernel: (ticks.get('system') ?? 0) * NS_PER_TICK,
      user: (ticks.get('user') ?? 0) * NS_PER_TICK,
      perCpu: percpu === undefined ? [] : parsePerCpu(percpu),
    },
    throttling: cpuStat === undefined ? null : parseThrottling(cpuStat),
  };
}

/** cpuacct.usage_percpu: one nanosecond count per possible CPU, space-separated. */
export function parsePerCpu(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => parseCounter(s, 0) ?? 0);
}

/** v1 cpu.stat: throttled_time is in nanoseconds (v2's cpu.stat says throttled_usec). */
export function parseThrottling(text: string): io.containerd.cgroups.v1.Throttle.$Properties {
  const kv = parseFlatKeyed(text);
  return { periods: kv.get('nr_periods') ?? 0, throttledPeriods: kv.get('nr_throttled') ?? 0, throttledTime: kv.get('throttled_time') ?? 0 };
}

/** Metrics field ← memory.stat key. Two names differ from the key: pgpgin/out and memsw. */
const MEMORY_STAT_KEYS: readonly (readonly [keyof MemoryStat & string, string])[] = [
  ['cache', 'cache'],
  ['rss', 'rss'],
  ['rssHuge', 'rss_huge'],
  ['mappedFile', 'mapped_file'],
  ['dirty', 'dirty'],
  ['writeback', 'writeback'],
  ['pgPgIn', 'pgpgin'],
  ['pgPgOut', 'pgpgout'],
  ['pgFault', 'pgfault'],
  ['pgMajFault', 'pgmajfault'],
  ['inactiveAnon', 'inactive_anon'],
  ['activeAnon', 'active_anon'],
  ['inactiveFile', 'inactive_file'],
  ['activeFile', 'active_file'],
  ['unevictable', 'unevictable'],
  ['hierarchicalMemoryLimit', 'hierarchical_memory_limit'],
  ['hierarchicalSwapLimit', 'hierarchical_memsw_limit'],
  ['totalCache', 'total_cache'],
  ['totalRss', 'total_rss'],
  ['totalRssHuge', 'total_rss_huge'],
  ['totalMappedFile', 'total_mapped_file'],
  ['totalDirty', 'total_dirty'],
  ['totalWriteback', 'total_writeback'],
  ['totalPgPgIn', 'total_pgpgin'],
  ['totalPgPgOut', 'total_pgpgout'],
  ['totalPgFault', 'total_pgfault'],
  ['totalPgMajFault', 'total_pgmajfault'],
  ['totalInactiveAnon', 'total_inactive_anon'],
  ['totalActiveAnon', 'total_active_anon'],
  ['totalInactiveFile', 'total_inactive_file'],
  ['totalActiveFile', 'total_active_file'],
  ['totalUnevictable', 'total_unevictable'],
];

/** memory.stat text to the MemoryStat fields it carries (not the usage/swap/kernel entries). */
export function parseV1MemoryStat(text: string): MemoryStat {
  return pickKeys<MemoryStat>(parseFlatKeyed(text), MEMORY_STAT_KEYS);
}

/** memory.oom_control: oom_kill_disable, under_oom and (Linux 4.13+) oom_kill. */
export function parseOomControl(text: string): io.containerd.cgroups.v1.MemoryOomControl.$Properties {
  const kv = parseFlatKeyed(text);
  return { oomKillDisable: kv.get('oom_kill_disable') ?? 0, underOom: kv.get('under_oom') ?? 0, oomKill: kv.get('oom_kill') ?? 0 };
}

/** MemoryStat's entry fields and the memory.<module>.* file group behind each. */
const MEMORY_ENTRIES = [
  ['usage', ''],
  ['swap', 'memsw.'],
  ['kernel', 'kmem.'],
  ['kernelTcp', 'kmem.tcp.'],
] as const;

async function readMemory(dir: string) {
  const [stat, oom, ...entries] = await Promise.all([
    readCgroupFile(dir, 'memory.stat'),
    readCgroupFile(dir, 'memory.oom_control'),
    ...MEMORY_ENTRIES.map(([, module]) => readMemoryEntry(dir, module)),
  ]);
  const memory: MemoryStat = stat === undefined ? {} : parseV1MemoryStat(stat);
  // memsw.* is absent without swap accounting, kmem.* on kernels that dropped it; leave
  // those entries out rather than report zero limits.
  MEMORY_ENTRIES.forEach(([field], i) => {
    if (entries[i]) memory[field] = entries[i];
  });
  return { memory, oom: oom === undefined ? undefined : parseOomControl(oom) };
}

async function readMemoryEntry(dir: string, module: string): Promise<MemoryEntry | undefined> {
  const names = ['limit_in_bytes', 'usage_in_bytes', 'max_usage_in_bytes', 'failcnt'] as const;
  const texts = await Promise.all(names.map((n) => readCgroupFile(dir, `memory.${module}${n}`)));
  if (texts.every((t) => t === undefined)) return undefined;
  const [limit, usage, max, failcnt] = texts.map((t) => (t === undefined ? 0 : (parseCounter(t, 0) ?? 0))) as [number, number, number, number];
  return { limit, usage, max, failcnt };
}

/**
 * blkio.* recursive files, containerd's order: the CFQ/BFQ-era set when the kernel has
 * it and it says anything, else the throttle files, which every kernel with blkio keeps.
 */
const BLKIO_FULL: readonly (readonly [keyof BlkIOStat & string, string])[] = [
  ['sectorsRecursive', 'sectors_recursive'],
  ['ioServiceBytesRecursive', 'io_service_bytes_recursive'],
  ['ioServicedRecursive', 'io_serviced_recursive'],
  ['ioQueuedRecursive', 'io_queued_recursive'],
  ['ioServiceTimeRecursive', 'io_service_time_recursive'],
  ['ioWaitTimeRecursive', 'io_wait_time_recursive'],
  ['ioMergedRecursive', 'io_merged_recursive'],
  ['ioTimeRecursive', 'time_recursive'],
];
const BLKIO_THROTTLE: readonly (readonly [keyof BlkIOStat & string, string])[] = [
  ['ioServicedRecursive', 'throttle.io_serviced_recursive'],
  ['ioServiceBytesRecursive', 'throttle.io_service_bytes_recursive'],
];

async function readBlkio(dir: string): Promise<BlkIOStat> {
  // Names are a nicety: without /proc/partitions the entries still carry major:minor.
  const devices = parsePartitions(await fs.readFile('/proc/partitions', 'utf8').catch(() => ''));
  const readSet = async (set: typeof BLKIO_FULL) => {
    const texts = await Promise.all(set.map(([, name]) => readCgroupFile(dir, `blkio.${name}`)));
    const out: BlkIOStat = {};
    let n = 0;
    set.forEach(([field], i) => {
      const entries = parseBlkioFile(texts[i] ?? '', devices);
      n += entries.length;
      (out as Record<string, BlkIOEntry[]>)[field] = entries;
    });
    return { out, n };
  };
  const full = await readSet(BLKIO_FULL);
  return full.n > 0 ? full.out : (await readSet(BLKIO_THROTTLE)).out;
}

/**
 * One blkio file: "MAJ:MIN Op value" lines (or "MAJ:MIN value" for sector and time
 * counts) and a "Total N" line, which is skipped.
 */
export function parseBlkioFile(text: string, devices: ReadonlyMap<string, string> = new Map()): BlkIOEntry[] {
  const out: BlkIOEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/[\s:]+/).filter(Boolean);
    if (f.length < 3) continue;
    const [major, minor] = [Number(f[0]), Number(f[1])];
    if (!Number.isInteger(major) || !Number.isInteger(minor)) continue;
    const op = f.length >= 4 ? f[2]! : '';
    const value = parseCounter(f[f.length >= 4 ? 3 : 2]!, 0);
    if (value === undefined) continue;
    out.push({ op, device: devices.get(`${major}:${minor}`) ?? '', major, minor, value });
  }
  return out;
}

/** /proc/partitions as "major:minor" → /dev path; the first name wins for a repeated pair. */
export function parsePartitions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n').slice(2)) {
    const [major, minor, , name] = line.trim().split(/\s+/);
    if (!name || !/^\d+$/.test(major ?? '') || !/^\d+$/.test(minor ?? '')) continue;
    const key = `${major}:${minor}`;
    if (!out.has(key)) out.set(key, `/dev/${name}`);
  }
  return out;
}

/** hugetlb.<size>.* groups; the sizes are whatever the kernel created files for. */
async function readHugetlb(dir: string): Promise<io.containerd.cgroups.v1.HugetlbStat.$Properties[]> {
  const sizes = (await fs.readdir(dir).catch(() => [] as string[]))
    .map((n) => /^hugetlb\.([^.]+)\.usage_in_bytes$/.exec(n)?.[1])
    .filter((s): s is string => !!s)
    .sort();
  return Promise.all(
    sizes.map(async (pagesize) => {
      const [usage, max, failcnt] = await Promise.all(
        ['usage_in_bytes', 'max_usage_in_bytes', 'failcnt'].map(async (n) => parseCounter((await readCgroupFile(dir, `hugetlb.${pagesize}.${n}`)) ?? '0', 0) ?? 0),
      );
      return { pagesize, usage: usage!, max: max!, failcnt: failcnt! };
    }),
  );
}

import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { V2_METRICS_TYPE, collectMetrics, encodeV2Metrics } from '../../src/cgroups/metrics.js';
import { UNLIMITED, parseIoStat, parseMemoryEvents, parseV2CpuStat, parseV2MemoryStat, readV2Metrics } from '../../src/cgroups/v2-stats.js';
import { ErrorKind } from '../../src/errors/index.js';
import { io } from '../../src/gen/proto.js';
import { tempDir } from '../helpers/tmp.js';

// Interface files as a 6.x kernel writes them for a container's cgroup.
const CPU_STAT = `usage_usec 2500130
user_usec 2000100
system_usec 500030
core_sched.force_idle_usec 0
nr_periods 40
nr_throttled 3
throttled_usec 91000
nr_bursts 1
burst_usec 500
`;
const MEMORY_STAT = `anon 10485760
file 4096
kernel 360448
kernel_stack 16384
pagetables 61440
sec_pagetables 0
percpu 480
sock 0
vmalloc 0
shmem 0
zswap 0
zswapped 0
file_mapped 0
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 0
file_thp 0
shmem_thp 0
inactive_anon 10473472
active_anon 12288
inactive_file 4096
active_file 0
unevictable 0
slab_reclaimable 120
slab_unreclaimable 240
slab 360
workingset_refault_anon 1
workingset_refault_file 2
workingset_activate_anon 3
workingset_activate_file 4
workingset_restore_anon 0
workingset_restore_file 0
workingset_nodereclaim 5
pgscan 6
pgsteal 7
pgscan_kswapd 0
pgscan_direct 6
pgsteal_kswapd 0
pgsteal_direct 7
pgfault 2688
pgmajfault 1
pgrefill 8
pgactivate 9
pgdeactivate 10
pglazyfree 11
pglazyfreed 12
thp_fault_alloc 13
thp_collapse_alloc 14
`;
const MEMORY_EVENTS = 'low 0\nhigh 0\nmax 57\noom 2\noom_kill 1\noom_group_kill 0\n';
const IO_STAT = `254:0 rbytes=1048576 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0
8:16 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0 cost.vrate=100.00
`;
const PRESSURE = 'some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=678\n';

t.test('parsers', async (t) => {
  t.same(parseV2CpuStat(CPU_STAT), {
    usageUsec: 2500130, userUsec: 2000100, systemUsec: 500030, nrPeriods: 40, nrThrottled: 3, throttledUsec: 91000, nrBursts: 1, burstUsec: 500,
  });
  const mem = parseV2MemoryStat(MEMORY_STAT);
  t.match(mem, {
    anon: 10485760, file: 4096, kernelStack: 16384, slab: 360, slabReclaimable: 120, slabUnreclaimable: 240, inactiveAnon: 10473472,
    pgfault: 2688, pgmajfault: 1, workingsetRefaultAnon: 1, workingsetActivateFile: 4, workingsetNodereclaim: 5,
    pgscan: 6, pgsteal: 7, pgrefill: 8, pglazyfreed: 12, thpFaultAlloc: 13, thpCollapseAlloc: 14,
  });
  t.notOk('kernel' in mem, 'keys without a field are dropped');
  t.same(parseMemoryEvents(MEMORY_EVENTS), { low: 0, high: 0, max: 57, oom: 2, oomKill: 1, oomGroupKill: 0 });
  t.same(parseIoStat(IO_STAT), [
    { major: 254, minor: 0, rbytes: 1048576, wbytes: 4096, rios: 12, wios: 1 },
    { major: 8, minor: 16, rbytes: 0, wbytes: 0, rios: 0, wios: 0 },
  ]);
  t.same(parseIoStat(''), []);
});

/** A directory laid out like a v2 container cgroup, from the fixtures above. */
function fixtureCgroup(t: Test, extra: Record<string, string> = {}): string {
  const dir = tempDir(t);
  const files: Record<string, string> = {
    'cgroup.events': 'populated 1\nfrozen 0\n',
    'cpu.stat': CPU_STAT,
    'cpu.pressure': PRESSURE,
    'memory.stat': MEMORY_STAT,
    'memory.current': '10878976\n',
    'memory.max': '16777216\n',
    'memory.peak': '11000000\n',
    'memory.swap.current': '0\n',
    'memory.swap.max': 'max\n',
    'memory.events': MEMORY_EVENTS,
    'memory.pressure': PRESSURE,
    'pids.current': '3\n',
    'pids.max': 'max\n',
    'io.stat': IO_STAT,
    'io.pressure': PRESSURE,
    'hugetlb.2MB.current': '0\n',
    'hugetlb.2MB.max': 'max\n',
    'hugetlb.2MB.events': 'max 4\n',
    ...extra,
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

t.test('readV2Metrics over a fixture cgroup', async (t) => {
  const dir = fixtureCgroup(t);
  const m = await readV2Metrics(dir);
  t.same(m.pids, { current: 3, limit: UNLIMITED });
  t.match(m.cpu, { usageUsec: 2500130, nrThrottled: 3, psi: { some: { avg10: 1.5, total: 12345 }, full: { total: 678 } } });
  t.match(m.memory, { usage: 10878976, usageLimit: 16777216, maxUsage: 11000000, swapUsage: 0, swapLimit: UNLIMITED, anon: 10485760 });
  t.equal(m.memoryEvents!.oomKill, 1);
  t.equal(m.io!.usage!.length, 2);
  t.same(m.hugetlb, [{ pagesize: '2MB', current: 0, max: UNLIMITED, failcnt: 4 }]);

  const any = await collectMetrics({ version: 2, path: dir });
  t.equal(any.type_url, V2_METRICS_TYPE);
  const back = io.containerd.cgroups.v2.Metrics.decode(any.value);
  t.equal(back.memory!.usage, 10878976);
  t.equal(back.memory!.usageLimit, 16777216);
  t.equal(back.memoryEvents!.oomKill, 1);
  t.equal(back.io!.usage![0]!.rbytes, 1048576);
  t.equal(back.cpu!.psi!.some!.avg10, 1.5);
  t.equal(back.hugetlb![0]!.failcnt, 4);
  // 2^64-1 as containerd reports it; a double shows it as 2^64.
  t.equal(back.pids!.limit, 2 ** 64, '"max" travels as the largest uint64, not as 0');
});

t.test('UNLIMITED goes on the wire as exactly 2^64-1', async (t) => {
  const { value } = encodeV2Metrics({ pids: { current: 1, limit: UNLIMITED } });
  // Metrics.pids (field 1, length-delimited) { current=1 (field 1), limit (field 2) = ten-byte varint of all ones }.
  t.equal(Buffer.from(value).toString('hex'), '0a0d' + '0801' + '10' + 'ffffffffffffffffff01');
  const input = { pids: { current: 1, limit: UNLIMITED } };
  encodeV2Metrics(input);
  t.equal(input.pids.limit, UNLIMITED, 'the caller\'s object is left alone');
});

t.test('a cgroup without controllers has only what it has', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cpu.stat'), 'usage_usec 5\nuser_usec 3\nsystem_usec 2\n');
  const m = await readV2Metrics(dir);
  t.same(m, { cpu: { usageUsec: 5, userUsec: 3, systemUsec: 2, psi: null } });
});

t.test('a removed cgroup is notFound, naming it', async (t) => {
  const dir = path.join(tempDir(t), 'gone');
  await t.rejects(readV2Metrics(dir), { kind: ErrorKind.NotFound, message: `cgroup ${dir} does not exist` });
});

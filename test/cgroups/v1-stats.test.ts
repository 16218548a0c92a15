import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { collectMetrics, V1_METRICS_TYPE } from '../../src/cgroups/metrics.js';
import { cgroupOf } from '../../src/cgroups/locate.js';
import { parseBlkioFile, parseOomControl, parsePartitions, parsePerCpu, parseThrottling, parseV1MemoryStat, readV1Metrics } from '../../src/cgroups/v1-stats.js';
import { ErrorKind } from '../../src/errors/index.js';
import { io } from '../../src/gen/proto.js';
import { scratchV1, until, v1Unavailable } from './scratch.js';

const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio'];

t.test('memory.stat fields, including the renamed ones', async (t) => {
  const m = parseV1MemoryStat('cache 4096\nrss 8192\npgpgin 3\ntotal_pgpgout 4\nhierarchical_memsw_limit 9223372036854771712\nswap 0\nbogus line here\n');
  t.same(m, { cache: 4096, rss: 8192, pgPgIn: 3, totalPgPgOut: 4, hierarchicalSwapLimit: 9223372036854771712 });
});

t.test('cpuacct, cpu.stat and oom_control', async (t) => {
  t.same(parsePerCpu('100 200 0 \n'), [100, 200, 0]);
  t.same(parseThrottling('nr_periods 5\nnr_throttled 2\nthrottled_time 7000\nnr_bursts 0\n'), { periods: 5, throttledPeriods: 2, throttledTime: 7000 });
  t.same(parseOomControl('oom_kill_disable 0\nunder_oom 1\noom_kill 3\n'), { oomKillDisable: 0, underOom: 1, oomKill: 3 });
});

t.test('blkio files and device names', async (t) => {
  const devices = parsePartitions('major minor  #blocks  name\n\n 254        0  268435456 vda\n 254        1  1000 vda1\n');
  t.same([...devices], [['254:0', '/dev/vda'], ['254:1', '/dev/vda1']]);
  t.same(parseBlkioFile('254:0 Read 4096\n254:0 Write 0\n8:0 Sync 1\nTotal 4097\n', devices), [
    { op: 'Read', device: '/dev/vda', major: 254, minor: 0, value: 4096 },
    { op: 'Write', device: '/dev/vda', major: 254, minor: 0, value: 0 },
    { op: 'Sync', device: '', major: 8, minor: 0, value: 1 },
  ]);
  t.same(parseBlkioFile('254:0 12\n'), [{ op: '', device: '', major: 254, minor: 0, value: 12 }], 'sector counts have no op');
});

t.test('a busy process in a scratch v1 cgroup', { skip: v1Unavailable(CONTROLLERS) }, async (t) => {
  const s = scratchV1(t, CONTROLLERS);
  // Allocates ~4 MB inside the cgroup, writes a little to disk, then spins.
  const child = s.run(`a=$(head -c 4000000 /dev/zero | tr '\\0' x); while :; do :; done`);
  await until('the process to be in the cgroup', () => fs.readFileSync(s.procsFiles[0]!, 'utf8').trim() !== '');
  await until('CPU time to be charged', async () => {
    const m = await readV1Metrics(s.cgroup);
    return (m.cpu?.usage?.total ?? 0) > 50e6 && (m.memory?.usage?.usage ?? 0) > 1e6;
  });
  await sleep(50);

  const located = cgroupOf(child.pid!);
  if (located.version !== 1) throw new Error(`a v1 host gave a v${located.version} cgroup`);
  for (const c of CONTROLLERS) t.equal(located.paths[c], s.cgroup.paths[c], `cgroupOf finds the ${c} cgroup`);

  const m = await readV1Metrics(located);
  t.ok(m.pids!.current! >= 1, `pids.current ${m.pids!.current}`);
  t.equal(m.pids!.limit, 0, 'pids.max "max" reads as 0 on v1');
  const usage = m.cpu!.usage!;
  t.ok(usage.total! > 0, `cpu total ${usage.total} ns`);
  t.ok(usage.perCpu!.length >= 1 && usage.perCpu!.some((n) => n > 0), 'per-CPU usage');
  t.ok(usage.user! + usage.kernel! > 0, 'cpuacct.stat ticks become nanoseconds');
  t.equal((usage.user! + usage.kernel!) % 1e7, 0, 'whole USER_HZ ticks');
  t.ok(m.cpu!.throttling, 'cpu.stat throttling');
  const mem = m.memory!;
  t.ok(mem.usage!.usage! > 0, `memory usage ${mem.usage!.usage}`);
  t.ok(mem.usage!.max! >= mem.usage!.usage!, 'max usage');
  t.ok(mem.usage!.limit! > 0, 'limit (unlimited is a huge number on v1)');
  t.ok(mem.rss! + mem.cache! > 0 || mem.totalRss! > 0, 'memory.stat read');
  t.ok(m.memoryOomControl, 'oom control');
  t.equal(m.memoryOomControl!.underOom, 0);
  t.ok(m.blkio, 'blkio section');

  const any = await collectMetrics(located);
  t.equal(any.type_url, V1_METRICS_TYPE);
  const back = io.containerd.cgroups.v1.Metrics.decode(any.value);
  t.ok(back.cpu!.usage!.total! >= usage.total!, 'decodes with the generated class');
  t.ok(back.memory!.usage!.usage! > 0);
  t.equal(back.memory!.usage!.limit, mem.usage!.limit, '64-bit limit survives the round trip');
  t.ok(back.pids!.current! >= 1);
  t.same(back.cpu!.usage!.perCpu!.length, usage.perCpu!.length);
});

t.test('stats of a removed cgroup are notFound', { skip: v1Unavailable(['memory']) }, async (t) => {
  const s = scratchV1(t, ['memory']);
  const dir = s.cgroup.paths.memory!;
  fs.rmdirSync(dir);
  await t.rejects(readV1Metrics(s.cgroup), { kind: ErrorKind.NotFound, message: new RegExp(path.basename(dir)) });
});

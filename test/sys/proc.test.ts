import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { childPids, readProcStat } from '../../src/sys/proc.js';

t.test('readProcStat of ourselves', async (t) => {
  const st = readProcStat(process.pid);
  t.match(st, { pid: process.pid, state: /^[RS]$/, ppid: process.ppid });
  t.ok(st!.startTime > 0);
  t.equal(readProcStat(4_000_000), null);
});

t.test('a comm with spaces and parentheses does not shift the fields', async (t) => {
  const child = spawn('python3', ['-c', "open('/proc/self/comm', 'w').write('a) b (c'); print(flush=True); import time; time.sleep(5)"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  await once(child.stdout, 'data');
  t.equal(fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8'), 'a) b (c\n');
  t.match(readProcStat(child.pid!), { pid: child.pid, ppid: process.pid, state: /^[RS]$/ });
});

t.test('childPids lists a child and forgets it once reaped', async (t) => {
  const child = spawn('sleep', ['5'], { stdio: 'ignore' });
  await once(child, 'spawn');
  t.ok(childPids().includes(child.pid!));
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.notOk(childPids().includes(child.pid!));
});

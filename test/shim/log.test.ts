import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { DaemonLog, logRefusal, pruneLogs } from '../../src/shim/log.js';
import { tempDir } from '../helpers/tmp.js';

t.test('the log is bounded: past its size it becomes .1 and a fresh file starts', async (t) => {
  const file = path.join(tempDir(t), 'logs', 'k.log');
  const log = new DaemonLog(file, 'info', 4096);
  for (let i = 0; i < 200; i++) log.logger.info({ i, task: 't1' }, 'a line of some length to fill the file');
  const size = fs.statSync(file).size;
  const old = fs.statSync(`${file}.1`).size;
  t.ok(size <= 4096, `current ${size} bytes`);
  t.ok(old <= 4096 && old > 2048, `rotated ${old} bytes`);
  t.match(fs.readFileSync(file, 'utf8'), /"i":199/, 'the newest line is in the current file');
});

t.test('a refused call is logged with method, task, exec, code name and message', async (t) => {
  const file = path.join(tempDir(t), 'd.log');
  const log = new DaemonLog(file, 'info');
  const call = { seq: 1, timeMs: 0, service: 'containerd.task.v2.Task', method: 'Kill', taskId: 'c1', execId: 'e1', durationMs: 1, code: 9, message: 'not running' };
  logRefusal(log.logger, call);
  logRefusal(log.logger, { ...call, method: 'State', code: 5, message: 'task c1 not found' });
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(lines[0], { level: 40, msg: 'call refused', method: 'Kill', task: 'c1', exec: 'e1', code: 'FailedPrecondition', message: 'not running' });
  t.match(lines[1], { level: 30, method: 'State', code: 'NotFound' }, 'NotFound is cleanup probing: info, not warn');
});

t.test('pruneLogs keeps the newest logs and the one in use', async (t) => {
  const dir = tempDir(t);
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, `k${i}.log`);
    fs.writeFileSync(f, 'x\n');
    fs.writeFileSync(`${f}.1`, 'x\n');
    fs.utimesSync(f, 1000 + i, 1000 + i);
  }
  pruneLogs(dir, path.join(dir, 'k0.log'), 3);
  t.same(fs.readdirSync(dir).sort(), ['k0.log', 'k0.log.1', 'k4.log', 'k4.log.1', 'k5.log', 'k5.log.1']);
});

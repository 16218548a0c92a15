import t from 'tap';
import http from 'node:http';
import path from 'node:path';
import { CallLog } from '../../src/shim/call-log.js';
import { DaemonMetrics } from '../../src/shim/metrics.js';
import { tempDir } from '../helpers/tmp.js';

const rec = (method: string, code = 0, request: unknown = { id: 'c1' }) => ({ service: 'containerd.task.v2.Task', method, code, message: '', durationMs: 3, request });

t.test('the call log keeps the newest calls, with task ids, and answers after a sequence number', async (t) => {
  const log = new CallLog(3);
  log.observe(rec('Create'));
  log.observe(rec('Start'));
  log.observe({ ...rec('Calls'), service: 'switchyard.debug.v1.Debug' });
  log.observe(rec('Exec', 6, { id: 'c1', execId: 'e1' }));
  log.observe(rec('Wait'));
  t.same(log.after(0).calls.map((c) => c.method), ['Start', 'Exec', 'Wait'], 'ring of 3; debug calls are not logged');
  t.equal(log.after(0).truncated, true, 'Create fell out of the ring');
  const exec = log.after(2).calls[0]!;
  t.match(exec, { method: 'Exec', taskId: 'c1', execId: 'e1', code: 6 });
  t.same(log.after(3).calls.map((c) => c.method), ['Wait']);
  t.equal(log.after(3).truncated, false);
  const svc = log.service();
  const r = await svc.Calls({ after: 3, max: 1 } as never, {} as never);
  t.equal(r.calls!.length, 1);
  t.equal(r.last, 4);
});

t.test('metrics: RPCs by method and code, tasks, routing; served on a unix socket', async (t) => {
  const m = new DaemonMetrics(() => [{ runtime: 'runc', state: 'running' }, { runtime: 'runc', state: 'running' }, { runtime: 'crun', state: 'stopped' }]);
  const log = new CallLog();
  log.onCall(m.onCall);
  log.observe(rec('Create'));
  log.observe(rec('Create', 7));
  m.decided('crun', 'team-a');
  m.refused('locked', 'permission-denied');
  const text = m.render();
  t.match(text, /switchyard_rpc_total\{method="Create",code="OK"\} 1/);
  t.match(text, /switchyard_rpc_total\{method="Create",code="PermissionDenied"\} 1/);
  t.match(text, /switchyard_rpc_duration_seconds_bucket\{method="Create",le="0.005"\} 2/);
  t.match(text, /switchyard_tasks\{runtime="runc",state="running"\} 2/);
  t.match(text, /switchyard_routing_decisions_total\{runtime="crun",rule="team-a"\} 1/);
  t.match(text, /switchyard_routing_refusals_total\{rule="locked",reason="permission-denied"\} 1/);

  const sock = path.join(tempDir(t), 'metrics.sock');
  const close = await m.serve(`unix://${sock}`);
  const body = await new Promise<string>((resolve, reject) =>
    http.get({ socketPath: sock, path: '/metrics' }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }).on('error', reject),
  );
  t.match(body, /switchyard_tasks/);
  await close();
});

import t from 'tap';
import { groupByPod, type TaskRow } from '../../src/cli/tasks.js';

const row = (id: string, pod: string, kind: TaskRow['kind'] = 'task'): TaskRow => ({ namespace: 'k8s.io', id, pod, kind, runtime: 'runc', pid: 1, status: 'RUNNING', exitStatus: null, age: '1s', daemonPid: 1 });

t.test('ps: each pod\'s row, then its containers; bare tasks last', async (t) => {
  const rows = [row('c1', 'sbA'), row('bare', ''), row('c2', 'sbB'), row('sbA', 'sbA', 'sandbox'), row('sbB', 'sbB'), row('c3', 'sbA'), row('orphan', 'sbZ')];
  t.same(groupByPod(rows).map((r) => r.id), ['sbA', 'c1', 'c3', 'sbB', 'c2', 'bare', 'orphan']);
});

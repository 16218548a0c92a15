import t from 'tap';
import * as cgroups from '../../src/cgroups/index.js';
import { libcLoaded } from '../../src/sys/index.js';

t.test('the seam exports the Task API pieces without loading koffi', async (t) => {
  for (const name of ['detectCgroupMode', 'cgroupOf', 'cgroupFromSpecPath', 'collectMetrics', 'watchOom'] as const) {
    t.equal(typeof cgroups[name], 'function', name);
  }
  t.equal(cgroups.V1_METRICS_TYPE, 'io.containerd.cgroups.v1.Metrics');
  t.equal(cgroups.V2_METRICS_TYPE, 'io.containerd.cgroups.v2.Metrics');
  t.equal(libcLoaded(), false, 'only a v1 OOM watch needs native code');
});

/**
 * runc's ShimCgroup option, as CRI sends it from a handler's options table: the daemon
 * serving those pods runs in that cgroup (one daemon per shim cgroup), with containerd's
 * OOM score + 1. The handler is runc-v2's type with our binary as its runtime_path, so
 * containerd sends containerd.runc.v1.Options exactly as it would to runc-v2.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireE2E } from '../lib/prereq.js';
import { uniqueNamespace } from '../lib/containerd.js';
import { criContainerd } from '../lib/cri-env.js';
import { repoRoot } from '../lib/image.js';
import { daemonPids } from '../lib/switchyard.js';

const HANDLER = 'shimcg';
// Its top is a unique namespace-like name: registered below, the cleanup removes it.
const TOP = uniqueNamespace('syshim');
const SHIM_CGROUP = `/${TOP}/daemon`;

/** The cgroup paths of a process, per hierarchy line of /proc/PID/cgroup. */
const cgroupsOf = (pid: number) =>
  fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => ({ line: l, path: l.split(':').slice(2).join(':') }));

if (requireE2E(t)) {
  const env = criContainerd(t, {
    handlers: {
      [HANDLER]: {
        runtimeType: 'io.containerd.runc.v2',
        options: { ShimCgroup: SHIM_CGROUP },
        settings: { runtime_path: path.join(repoRoot(), 'bin', 'containerd-shim-switchyard-v2.cjs') },
      },
    },
  });

  t.test('a pod whose handler names a ShimCgroup: its daemon runs there', async (t) => {
    env.c.addNamespace(TOP);
    const pod = await env.cri.runPod({ name: 'scg', namespace: 'default', runtimeHandler: HANDLER });
    await env.cri.createAndStart(pod, undefined, { name: 'main', image: env.busybox, command: ['sleep', '1000'] });
    const inCgroup = daemonPids(env.c).filter((pid) => cgroupsOf(pid).some((c) => c.path === SHIM_CGROUP));
    t.equal(inCgroup.length, 1, 'one daemon in the shim cgroup');
    const pid = inCgroup[0]!;
    const lines = cgroupsOf(pid);
    t.same(lines.filter((c) => c.path !== SHIM_CGROUP).map((c) => c.line), [], `in ${SHIM_CGROUP} in every hierarchy`);
    const score = (p: number) => Number(fs.readFileSync(`/proc/${p}/oom_score_adj`, 'utf8').trim());
    t.equal(score(pid), Math.min(score(env.c.pid!) + 1, 1000), "oom_score_adj: containerd's + 1");
    await env.cri.stopAndRemovePod(pod, 0);
  });
}

/**
 * The policy proof through CRI, table-driven: Kubernetes namespaces × requested runtimes ×
 * harden_only on and off, each pod created as kubelet would. Every disallowed request is
 * refused; every admitted pod runs on exactly what it asked for (or its rule's default when
 * it asked for nothing): zero downgrades.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { requireCommands, requireE2E } from '../lib/prereq.js';
import { criContainerd, CRI_NAMESPACE } from '../lib/cri-env.js';
import { RUNTIME } from '../lib/switchyard.js';

const KEY = 'switchyard.dev/runtime';
const policy = (harden: boolean) =>
  [
    '[policy]',
    'isolation = ["runc", "crun", "runsc"]',
    `harden_only = ${harden}`,
    '[[policy.rules]]',
    'name = "tenants"',
    'namespaces = ["tenant-*"]',
    'allow = ["runc", "crun", "runsc"]',
    'default = "crun"',
    '[[policy.rules]]',
    'name = "locked"',
    'namespaces = ["locked"]',
    'allow = ["runc"]',
    '',
  ].join('\n');

/** What must happen: the runtime the pod runs on, or the words of its refusal. */
function expected(ns: string, asked: string | undefined, harden: boolean): { runtime: string } | { refused: RegExp; code: string } {
  const known = ['runc', 'crun', 'runsc'];
  if (asked !== undefined && !known.includes(asked)) return { refused: /unknown|not a known|known runtimes/i, code: 'INVALID_ARGUMENT' };
  if (ns === 'locked') {
    if (asked === undefined || asked === 'runc') return { runtime: 'runc' };
    return { refused: /refused.*locked|locked.*allows only runc/, code: 'PERMISSION_DENIED' };
  }
  const rank = (r: string) => known.indexOf(r);
  const dflt = ns.startsWith('tenant-') ? 'crun' : 'runc';
  const want = asked ?? dflt;
  if (harden && ns.startsWith('tenant-') && rank(want) < rank(dflt)) return { refused: /refused.*tenants/, code: 'PERMISSION_DENIED' };
  if (want === 'runsc') return { refused: /runsc.*not installed/, code: 'FAILED_PRECONDITION' };
  return { runtime: want };
}

if (requireE2E(t) && requireCommands(t, ['crun', 'unshare'])) {
  const env = criContainerd(t, {
    handlers: {
      'sy-harden': { runtimeType: RUNTIME, podAnnotations: ['switchyard.dev/*'], switchyardToml: policy(true) },
      'sy-open': { runtimeType: RUNTIME, podAnnotations: ['switchyard.dev/*'], switchyardToml: policy(false) },
    },
  });
  const decision = (id: string) => JSON.parse(fs.readFileSync(path.join(env.switchyardStateDir, 'decisions', CRI_NAMESPACE, `${id}.json`), 'utf8'));

  t.before(() => env.c.addRuntimeRoot(path.join(env.switchyardStateDir, 'crun', CRI_NAMESPACE)));

  t.test('namespaces × requests × harden_only: refused or exactly as asked', async (t) => {
    let admitted = 0;
    let refused = 0;
    let downgrades = 0;
    let n = 0;
    for (const harden of [true, false]) {
      for (const ns of ['tenant-a', 'locked', 'other']) {
        for (const asked of [undefined, 'runc', 'crun', 'runsc', 'bogus']) {
          const want = expected(ns, asked, harden);
          const name = `m${n++}`;
          const label = `${harden ? 'harden' : 'open'} ${ns} asks ${asked ?? '(nothing)'}`;
          const pod = await env.cri
            .runPod({ name, namespace: ns, runtimeHandler: harden ? 'sy-harden' : 'sy-open', annotations: asked === undefined ? {} : { [KEY]: asked } })
            .catch((e: Error) => e);
          if (pod instanceof Error) {
            refused++;
            t.ok('refused' in want, `${label}: refused (${pod.message.slice(0, 160)})`);
            if ('refused' in want) t.match(pod.message, want.refused, `${label}: the right words`);
            // containerd 2.x passes the shim's status code through CRI (1.6's errdefs lacks PermissionDenied).
            if ('refused' in want && env.c.build.configVersion === 3) t.match(pod.message, `${want.code} (gRPC code`, `${label}: ${want.code}`);
            continue;
          }
          admitted++;
          const got = decision(pod).runtime as string;
          if ('runtime' in want) {
            t.equal(got, want.runtime, `${label}: runs on ${got}`);
            if (got !== want.runtime) downgrades++;
          } else {
            t.fail(`${label}: admitted on ${got}, should have been refused`);
            downgrades++;
          }
          await env.cri.stopAndRemovePod(pod);
        }
      }
    }
    t.comment(`admitted ${admitted}, refused ${refused}, downgrades ${downgrades}`);
    t.equal(downgrades, 0, 'zero downgrades');
  });
}

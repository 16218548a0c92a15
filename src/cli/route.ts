/** `why` (the decision recorded for a task) and `route` (what the router would decide, without running anything). */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import { route } from '../routing/router.js';
import { formatDecision } from '../routing/decision.js';
import { availableOnPath } from '../routing/find-on-path.js';
import { readDecision } from '../routing/store.js';
import { namespaceOf } from './daemons.js';
import { CliError, print, printJson } from './output.js';

export function why(cfg: Config, id: string, ns: string | undefined, json: boolean): number {
  const namespace = namespaceOf(cfg.stateDir, id, ns);
  const d = readDecision(cfg.stateDir, namespace, id);
  if (!d) throw new CliError(`no routing decision recorded for ${id} in ${namespace}`);
  if (json) printJson({ namespace, id, ...d });
  else print(formatDecision(d));
  return 0;
}

export function routeDryRun(cfg: Config, o: { bundle?: string; annotations: string[]; k8sNamespace?: string; containerType?: string; sandboxId?: string; containerdNamespace: string; json: boolean }): number {
  let annotations: Record<string, string> = {};
  if (o.bundle) {
    const spec = JSON.parse(fs.readFileSync(path.join(o.bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
    annotations = { ...(spec.annotations ?? {}) };
  }
  for (const kv of o.annotations) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new CliError(`--annotation ${kv}: expected KEY=VALUE`, 2);
    annotations[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (o.k8sNamespace) {
    annotations['io.kubernetes.cri.sandbox-namespace'] = o.k8sNamespace;
    annotations['io.kubernetes.cri.container-type'] ??= 'sandbox';
    annotations['io.kubernetes.cri.sandbox-id'] ??= o.sandboxId ?? 'dry-run';
  }
  if (o.containerType) annotations['io.kubernetes.cri.container-type'] = o.containerType;
  if (o.sandboxId) annotations['io.kubernetes.cri.sandbox-id'] = o.sandboxId;
  try {
    const d = route({ annotations, containerdNamespace: o.containerdNamespace, sandboxDecision: (sid) => readDecision(cfg.stateDir, o.containerdNamespace, sid) }, cfg, availableOnPath());
    if (o.json) printJson(d);
    else print(formatDecision(d));
    return 0;
  } catch (err) {
    if (o.json) printJson({ refused: describe(err), kind: (err as { kind?: string }).kind });
    else print(`refused: ${describe(err)}`);
    return 3;
  }
}

/** Finding the daemon that serves a task, from the cards and decisions under state_dir. */
import fs from 'node:fs';
import path from 'node:path';
import { TtrpcClient } from '../transport/ttrpc/client.js';
import { taskServiceV2 } from '../api/task.js';
import { sandboxService, type SandboxServiceDefinition } from '../api/sandbox.js';
import type { ServiceClient } from '../transport/service.js';
import type { TaskServiceDefinition } from '../api/task.js';
import { readDecision } from '../routing/store.js';
import type { Decision } from '../routing/decision.js';
import { daemonCards, type DaemonCard } from './trace.js';
import { CliError } from './output.js';

export interface Connected {
  card: DaemonCard;
  client: TtrpcClient;
  task: ServiceClient<TaskServiceDefinition>;
  /** The pods the daemon serves through containerd's Sandbox API (`sandboxer = "shim"`). */
  sandbox: ServiceClient<SandboxServiceDefinition>;
}

export async function connect(card: DaemonCard): Promise<Connected> {
  const client = await TtrpcClient.connect(card.socket);
  return { card, client, task: client.service(taskServiceV2), sandbox: client.service(sandboxService) };
}

/** Task ids with a recorded decision in a namespace. */
export function taskIds(stateDir: string, namespace: string): string[] {
  try {
    return fs
      .readdirSync(path.join(stateDir, 'decisions', namespace))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5));
  } catch {
    return [];
  }
}

/** Namespaces with decisions. */
export function namespaces(stateDir: string): string[] {
  try {
    return fs.readdirSync(path.join(stateDir, 'decisions'));
  } catch {
    return [];
  }
}

/** The namespace of a task id: the one given, or the only one that knows it. */
export function namespaceOf(stateDir: string, id: string, given?: string): string {
  if (given) return given;
  const found = namespaces(stateDir).filter((ns) => taskIds(stateDir, ns).includes(id));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new CliError(`no task ${id} under ${stateDir} (see \`switchyard ps\`; give -n NAMESPACE if it runs elsewhere)`, 1);
  throw new CliError(`task ${id} exists in namespaces ${found.join(', ')}: say which with -n`, 2);
}

/** The live daemon that answers State for the task; the caller closes it. */
export async function daemonFor(stateDir: string, id: string, ns: string): Promise<Connected & { decision?: Decision }> {
  const cards = daemonCards(stateDir).filter((c) => c.alive && c.namespace === ns && c.protocol === 'ttrpc');
  for (const card of cards) {
    let conn: Connected | undefined;
    try {
      conn = await connect(card);
      await conn.task.State({ id }, { timeoutMs: 5000 });
      return { ...conn, decision: readDecision(stateDir, ns, id) };
    } catch {
      conn?.client.close();
    }
  }
  throw new CliError(`no running daemon serves task ${id} in namespace ${ns} (it may have been deleted; see \`switchyard ps\`)`, 1);
}

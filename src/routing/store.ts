/**
 * Routing decisions kept where the daemon and the CLI can find them:
 * `<state_dir>/decisions/<namespace>/<task id>.json`. A pod's containers are routed by
 * their sandbox's decision, which must survive a daemon restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Decision } from './decision.js';

export class DecisionStore {
  private readonly cache = new Map<string, Decision>();
  readonly dir: string;

  constructor(stateDir: string, namespace: string) {
    this.dir = path.join(stateDir, 'decisions', namespace);
  }

  private file(id: string): string {
    // Ids are checked against containerd's identifier rule before they get here.
    return path.join(this.dir, `${id}.json`);
  }

  save(id: string, decision: Decision): void {
    this.cache.set(id, decision);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(id);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(decision), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }

  get(id: string): Decision | undefined {
    const cached = this.cache.get(id);
    if (cached) return cached;
    try {
      const d = JSON.parse(fs.readFileSync(this.file(id), 'utf8')) as Decision;
      this.cache.set(id, d);
      return d;
    } catch {
      return undefined;
    }
  }

  remove(id: string): void {
    this.cache.delete(id);
    fs.rmSync(this.file(id), { force: true });
  }
}

/** Reads one decision without a daemon (the CLI). */
export function readDecision(stateDir: string, namespace: string, id: string): Decision | undefined {
  return new DecisionStore(stateDir, namespace).get(id);
}

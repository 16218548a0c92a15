/**
 * Prometheus text metrics of one daemon: RPCs by method and code with latency, tasks by
 * runtime and state, routing decisions and refusals by rule. Served only when the config
 * sets `metrics_address` (a unix socket or a loopback port).
 */
import fs from 'node:fs';
import type { LoggedCall } from './call-log.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CODE_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

export interface TaskCount {
  runtime: string;
  state: string;
}

export class DaemonMetrics {
  private readonly rpcs = new Map<string, number>();
  private readonly hist = new Map<string, { buckets: number[]; sum: number; count: number }>();
  private readonly decisions = new Map<string, number>();
  private readonly refusals = new Map<string, number>();

  constructor(private readonly tasks: () => TaskCount[]) {}

  readonly onCall = (c: LoggedCall): void => {
    const key = `${c.method}\u0000${CODE_NAMES[c.code] ?? String(c.code)}`;
    this.rpcs.set(key, (this.rpcs.get(key) ?? 0) + 1);
    let h = this.hist.get(c.method);
    if (!h) this.hist.set(c.method, (h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const s = c.durationMs / 1000;
    BUCKETS.forEach((b, i) => {
      if (s <= b) h!.buckets[i]!++;
    });
    h.sum += s;
    h.count++;
  };

  decided(runtime: string, rule: string): void {
    const key = `${runtime}\u0000${rule}`;
    this.decisions.set(key, (this.decisions.get(key) ?? 0) + 1);
  }

  refused(rule: string, kind: string): void {
    const key = `${rule}\u0000${kind}`;
    this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1);
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP switchyard_rpc_total Task API calls answered, by method and status code.', '# TYPE switchyard_rpc_total counter');
    for (const [k, n] of this.rpcs) {
      const [method, code] = k.split('\u0000');
      out.push(`switchyard_rpc_total${labels({ method: method!, code: code! })} ${n}`);
    }
    out.push('# HELP switchyard_rpc_duration_seconds Time to answer a call, by method.', '# TYPE switchyard_rpc_duration_seconds histogram');
    for (const [method, h] of this.hist) {
      BUCKETS.forEach((b, i) => out.push(`switchyard_rpc_duration_seconds_bucket${labels({ method, le: String(b) })} ${h.buckets[i]}`));
      out.push(`switchyard_rpc_duration_seconds_bucket${labels({ method, le: '+Inf' })} ${h.count}`);
      out.push(`switchyard_rpc_duration_seconds_sum${labels({ method })} ${h.sum}`, `switchyard_rpc_duration_seconds_count${labels({ method })} ${h.count}`);
    }
    out.push('# HELP switchyard_tasks Tasks this daemon holds, by runtime and state.', '# TYPE switchyard_tasks gauge');
    const counts = new Map<string, number>();
    for (const t of this.tasks()) counts.set(`${t.runtime}\u0000${t.state}`, (counts.get(`${t.runtime}\u0000${t.state}`) ?? 0) + 1);
    for (const [k, n] of counts) {
      const [runtime, state] = k.split('\u0000');
      out.push(`switchyard_tasks${labels({ runtime: runtime!, state: state! })} ${n}`);
    }
    out.push('# HELP switchyard_routing_decisions_total Tasks routed, by runtime and policy rule.', '# TYPE switchyard_routing_decisions_total counter');
    for (const [k, n] of this.decisions) {
      const [runtime, rule] = k.split('\u0000');
      out.push(`switchyard_routing_decisions_total${labels({ runtime: runtime!, rule: rule! })} ${n}`);
    }
    out.push('# HELP switchyard_routing_refusals_total Tasks refused by the router, by rule and reason.', '# TYPE switchyard_routing_refusals_total counter');
    for (const [k, n] of this.refusals) {
      const [rule, reason] = k.split('\u0000');
      out.push(`switchyard_routing_refusals_total${labels({ rule: rule!, reason: reason! })} ${n}`);
    }
    return `${out.join('\n')}\n`;
  }

  /** Serves GET /metrics at address; resolves with a close function. */
  async serve(address: string): Promise<() => Promise<void>> {
    // Loaded here: most nodes serve no metrics, and every cold daemon would pay for http.
    const { default: http } = await import('node:http');
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.render());
    });
    server.unref();
    const unix = address.startsWith('unix://') ? address.slice('unix://'.length) : undefined;
    if (unix) fs.rmSync(unix, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (unix) server.listen(unix, resolve);
      else {
        const i = address.lastIndexOf(':');
        server.listen(Number(address.slice(i + 1)), address.slice(0, i).replace(/^\[|\]$/g, ''), resolve);
      }
    });
    if (unix) fs.chmodSync(unix, 0o600);
    return () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (unix) fs.rmSync(unix, { force: true });
      });
  }
}

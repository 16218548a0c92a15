/**
 * The daemon's recent RPCs, in a bounded ring, for `switchyard trace` (Debug/Calls) and
 * the RPC metrics. Observing costs one object per call; nothing is kept beyond `capacity`.
 */
import fs from 'node:fs';
import type { CallRecord } from '../transport/service.js';
import type { ServiceImplementation } from '../transport/service.js';
import { DEBUG_SERVICE, type DebugServiceDefinition } from '../api/debug.js';

export interface LoggedCall {
  seq: number;
  timeMs: number;
  service: string;
  method: string;
  taskId: string;
  execId: string;
  durationMs: number;
  code: number;
  message: string;
}

const MAX_PER_ANSWER = 1000;

export class CallLog {
  private readonly ring: LoggedCall[] = [];
  private seq = 0;
  private readonly listeners: ((c: LoggedCall) => void)[] = [];

  constructor(private readonly capacity = 4096) {}

  /** A CallObserver: give it to the transport servers. */
  readonly observe = (r: CallRecord): void => {
    // trace polls Debug/Calls: logging those would fill the log with its own reading.
    if (r.service === DEBUG_SERVICE) return;
    const req = (r.request ?? {}) as { id?: unknown; containerId?: unknown; execId?: unknown };
    const task = typeof req.id === 'string' ? req.id : typeof req.containerId === 'string' ? req.containerId : '';
    const call: LoggedCall = {
      seq: ++this.seq,
      timeMs: Date.now(),
      service: r.service,
      method: r.method,
      taskId: task,
      execId: typeof req.execId === 'string' ? req.execId : '',
      durationMs: r.durationMs,
      code: r.code,
      message: r.message,
    };
    this.ring.push(call);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of this.listeners) l(call);
  };

  onCall(listener: (c: LoggedCall) => void): void {
    this.listeners.push(listener);
  }

  after(seq: number, max = MAX_PER_ANSWER): { calls: LoggedCall[]; last: number; truncated: boolean } {
    const first = this.ring[0]?.seq ?? this.seq + 1;
    const calls = this.ring.filter((c) => c.seq > seq).slice(0, Math.min(max || MAX_PER_ANSWER, MAX_PER_ANSWER));
    return { calls, last: this.seq, truncated: seq + 1 < first && this.seq > seq };
  }

  /** The Debug service over this log; `info` adds what only the daemon knows of itself. */
  service(info: () => { tasks: number; version: string } = () => ({ tasks: 0, version: '' })): ServiceImplementation<DebugServiceDefinition> {
    return {
      Info: async () => {
        // Collected first, so the heap figure is what stays, not garbage waiting for a GC.
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        const m = process.memoryUsage();
        return { heapUsedBytes: m.heapUsed, rssBytes: m.rss, openFds: fs.readdirSync('/proc/self/fd').length, pid: process.pid, ...info() };
      },
      Calls: async (req) => {
        const { calls, last, truncated } = this.after(Number(req.after ?? 0), req.max ?? 0);
        return { calls, last, truncated };
      },
    };
  }
}

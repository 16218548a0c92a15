/** Where the task layer sends its events. Backends never publish; they report exits. */
import type { TaskEvent } from './topics.js';

export interface EventSink {
  /**
   * Queue one event. Never throws and never blocks: delivery is the sink's business, and
   * the order of publish() calls is the order containerd sees.
   */
  publish(event: TaskEvent): void;
}


/** Records events in publish order: the fake to hand the task layer in tests. */
export class CapturingSink implements EventSink {
  readonly events: TaskEvent[] = [];
  private waiters: { match: (e: TaskEvent) => boolean; resolve: (e: TaskEvent) => void }[] = [];

  publish(event: TaskEvent): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(event)) return true;
      w.resolve(event);
      return false;
    });
  }

  /** The topics seen so far, in order: ['/tasks/create', '/tasks/start', ...]. */
  get topics(): string[] {
    return this.events.map((e) => e.topic);
  }

  clear(): void {
    this.events.length = 0;
  }

  /**
   * The first event (already seen or still to come) with this topic or matching this
   * predicate; rejects after timeoutMs.
   */
  waitFor(match: string | ((e: TaskEvent) => boolean), timeoutMs = 5000): Promise<TaskEvent> {
    const pred = typeof match === 'string' ? (e: TaskEvent) => e.topic === match : match;
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match: pred,
        resolve: (e: TaskEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no event ${typeof match === 'string' ? match : 'matching'} within ${timeoutMs} ms; saw ${this.topics.join(', ') || 'none'}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

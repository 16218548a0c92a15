/**
 * Task events to containerd over ttrpc Events/Forward (docs/protocol.md §4.2), strictly in
 * publish order. containerd's own shim library requeues a failed event behind later ones;
 * we do not, because containerd and its clients read order into these events (start
 * before exit, exit before delete). The price is that one undeliverable event holds the
 * rest back for its retries, which are therefore bounded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { eventsService } from '../api/events.js';
import { Code, StatusError, describe, invalidArgument } from '../errors/index.js';
import { TtrpcClient } from '../transport/ttrpc/client.js';
import type { EventSink } from './sink.js';
import { timestamp, type TaskEvent } from './topics.js';

export interface ForwardPublisherOptions {
  /** containerd's ttrpc socket (TTRPC_ADDRESS): a bare path or unix://path. */
  ttrpcAddress: string;
  /** The containerd namespace every envelope carries. */
  namespace: string;
  logger?: Logger;
  /** Events waiting beyond this many: the oldest is dropped (default 2048, as containerd). */
  maxQueue?: number;
  /** Retries after the first attempt, each on a fresh connection (default 5). */
  retries?: number;
  /** Retry n waits n times this long (default 100 ms). */
  retryDelayMs?: number;
  /** Deadline of one Forward call (default 5000 ms, as containerd). */
  callTimeoutMs?: number;
  /** Deadline of one connection attempt (default callTimeoutMs). */
  connectTimeoutMs?: number;
}

export interface PublisherStats {
  published: number;
  delivered: number;
  dropped: number;
  queued: number;
}

interface Queued {
  event: TaskEvent;
  /** When publish() was called: the envelope's time, however late it is sent. */
  at: Date;
}

// containerd rejects these for good (envelope validation); retrying only delays the rest.
const PERMANENT = new Set<number>([Code.InvalidArgument, Code.Unimplemented, Code.PermissionDenied, Code.Unauthenticated]);

export class ForwardPublisher implements EventSink {
  private readonly address: string;
  private readonly namespace: string;
  private readonly log: Logger | undefined;
  private readonly maxQueue: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly callTimeoutMs: number;
  private readonly connectTimeoutMs: number;

  private readonly queue: Queued[] = [];
  private pumping = false;
  private closed = false;
  private client: TtrpcClient | null = null;
  private readonly stop = new AbortController();
  private idleWaiters: ((drained: boolean) => void)[] = [];
  private counts = { published: 0, delivered: 0, dropped: 0 };

  constructor(opts: ForwardPublisherOptions) {
    if (!opts.ttrpcAddress) throw invalidArgument('events: no containerd ttrpc address (TTRPC_ADDRESS) to publish to');
    if (!opts.namespace) throw invalidArgument('events: a namespace is required to publish');
    this.address = opts.ttrpcAddress;
    this.namespace = opts.namespace;
    this.log = opts.logger?.child({ component: 'events' });
    this.maxQueue = Math.max(1, opts.maxQueue ?? 2048);
    this.retries = Math.max(0, opts.retries ?? 5);
    this.retryDelayMs = opts.retryDelayMs ?? 100;
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? this.callTimeoutMs;
  }

  get stats(): PublisherStats {
    return { ...this.counts, queued: this.queue.length };
  }

  publish(event: TaskEvent): void {
    if (this.closed) {
      this.counts.dropped++;
      this.log?.warn({ topic: event.topic }, 'event published after close: dropped');
      return;
    }
    this.counts.published++;
    if (this.queue.length >= this.maxQueue) {
      const old = this.queue.shift()!;
      this.counts.dropped++;
      this.log?.error({ topic: old.event.topic, publishedAt: old.at, maxQueue: this.maxQueue }, 'event queue full: dropped the oldest event');
    }
    this.queue.push({ event, at: new Date() });
    if (!this.pumping) void this.pump();
  }

  /**
   * Resolves true once every event published so far has been delivered or dropped, or
   * false when timeoutMs passes first or the publisher is closed. Call before exiting.
   */
  flush(timeoutMs?: number): Promise<boolean> {
    if (!this.pumping && this.queue.length === 0) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (drained: boolean) => {
        if (timer) clearTimeout(timer);
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(drained);
      };
      if (timeoutMs !== undefined) timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.push(done);
    });
  }

  /** Stops at once: an event in flight may still arrive, queued ones are dropped (and logged). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0) {
      this.counts.dropped += this.queue.length;
      this.log?.warn({ topics: this.queue.map((q) => q.event.topic) }, `publisher closed with ${this.queue.length} undelivered events`);
      this.queue.length = 0;
    }
    this.stop.abort();
    this.disconnect();
    for (const w of this.idleWaiters.splice(0)) w(false);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.closed && this.queue.length > 0) await this.deliver(this.queue.shift()!);
    } finally {
      this.pumping = false;
      const drained = !this.closed;
      for (const w of this.idleWaiters.splice(0)) w(drained);
    }
  }

  /** One event: the first attempt and up to `retries` more; never throws. */
  private async deliver(item: Queued): Promise<void> {
    const { event } = item;
    const request = {
      envelope: {
        timestamp: timestamp(item.at),
        namespace: this.namespace,
        topic: event.topic,
        event: { type_url: event.typeUrl, value: event.value },
      },
    };
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        try {
          await sleep(this.retryDelayMs * attempt, undefined, { signal: this.stop.signal });
        } catch {
          break; // closed
        }
      }
      if (this.closed) break;
      try {
        const client = await this.connect();
        await client.call(eventsService.Forward, request, { timeoutMs: this.callTimeoutMs });
        this.counts.delivered++;
        if (attempt > 0) this.log?.info({ topic: event.topic, attempt }, 'event delivered after retry');
        return;
      } catch (err) {
        lastError = err;
        if (err instanceof StatusError && PERMANENT.has(err.code)) {
          this.counts.dropped++;
          this.log?.error({ topic: event.topic, err: describe(err) }, 'containerd refused the event: dropped');
          return;
        }
        // The connection may be dead (containerd restarting) or wedged: start afresh.
        this.disconnect();
        if (attempt < this.retries && !this.closed) {
          this.log?.warn({ topic: event.topic, attempt: attempt + 1, err: describe(err) }, 'forwarding event failed, will retry');
        }
      }
    }
    this.counts.dropped++;
    this.log?.error(
      { topic: event.topic, publishedAt: item.at, attempts: this.retries + 1, err: lastError === undefined ? undefined : describe(lastError) },
      this.closed ? 'publisher closed: event dropped' : 'event dropped after retries',
    );
  }

  private async connect(): Promise<TtrpcClient> {
    if (this.client && !this.client.closed) return this.client;
    const client = await TtrpcClient.connect(this.address, this.connectTimeoutMs);
    if (this.closed) {
      client.close();
      throw new StatusError(Code.Cancelled, 'events: publisher closed');
    }
    client.onClose(() => {
      if (this.client === client) this.client = null;
    });
    this.client = client;
    return client;
  }

  private disconnect(): void {
    const c = this.client;
    this.client = null;
    c?.close();
  }
}

import net from 'node:net';
import { Code, StatusError, fromStatus } from '../../errors/index.js';
import type { CallOptions, ServiceDefinition, ClientRequestOf, ClientResponseOf, AnyMethod, ServiceClient } from '../service.js';
import { serviceClient, splitPath } from '../service.js';
import { encodeFrame, FrameDecoder, FrameType, MAX_DATA_LENGTH } from './frame.js';
import { decodeResponse, encodeRequest } from './messages.js';

export type { CallOptions };

interface Pending {
  resolve(data: Buffer): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
}

/** Strips the scheme containerd and shims put on unix socket addresses. */
export function socketPath(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}

/**
 * A ttrpc client on one unix connection: odd stream ids, any number of calls in flight,
 * each settled exactly once — by its reply, its deadline, or the connection going away.
 */
export class TtrpcClient {
  private nextStream = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private closedError: Error | null = null;
  private readonly closeListeners: ((err: Error) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new StatusError(Code.Unavailable, `ttrpc connection: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new StatusError(Code.Unavailable, 'ttrpc: connection closed')));
  }

  static connect(address: string, timeoutMs = 5000): Promise<TtrpcClient> {
    const path = socketPath(address);
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new StatusError(Code.DeadlineExceeded, `ttrpc: connecting to ${path} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TtrpcClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new StatusError(Code.Unavailable, `ttrpc: cannot connect to ${path}: ${err.code ?? err.message}`, { cause: err }));
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  onClose(listener: (err: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /** One unary call with raw payloads. */
  callRaw(service: string, method: string, payload: Buffer, opts: CallOptions = {}): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    const streamId = this.nextStream;
    this.nextStream += 2;
    const data = encodeRequest({
      service,
      method,
      payload,
      timeoutNano: opts.timeoutMs ? Math.round(opts.timeoutMs * 1e6) : 0,
      metadata: opts.metadata ?? new Map(),
    });
    if (data.length > MAX_DATA_LENGTH) {
      return Promise.reject(new StatusError(Code.ResourceExhausted, `${method} request of ${data.length} bytes exceeds the ttrpc limit`));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (opts.timeoutMs) {
        p.timer = setTimeout(() => {
          this.settle(streamId)?.reject(new StatusError(Code.DeadlineExceeded, `${method}: deadline of ${opts.timeoutMs} ms exceeded`));
        }, opts.timeoutMs);
      }
      if (opts.signal) {
        const onAbort = () => this.settle(streamId)?.reject(new StatusError(Code.Cancelled, `${method}: cancelled`));
        if (opts.signal.aborted) return onAbort();
        opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      this.pending.set(streamId, p);
      this.socket.write(encodeFrame({ streamId, type: FrameType.Request, flags: 0, data }));
    });
  }

  /** A typed unary call through a method definition. */
  async call<M extends AnyMethod>(
    def: M,
    request: ClientRequestOf<M>,
    opts?: CallOptions,
  ): Promise<ClientResponseOf<M>> {
    const { service, method } = splitPath(def.path);
    const reply = await this.callRaw(service, method, def.requestSerialize(request), opts);
    return def.responseDeserialize(reply) as ClientResponseOf<M>;
  }

  /** A typed facade for a whole service: client.Create(req) and so on. */
  service<D extends ServiceDefinition>(def: D): ServiceClient<D> {
    return serviceClient(def, (m, req, opts) => this.call(m, req as never, opts));
  }

  close(): void {
    this.socket.destroy();
  }

  private settle(streamId: number): Pending | undefined {
    const p = this.pending.get(streamId);
    if (!p) return undefined;
    this.pending.delete(streamId);
    if (p.timer) clearTimeout(p.timer);
    return p;
  }

  private onData(chunk: Buffer): void {
    let items;
    try {
      items = this.decoder.push(chunk);
    } catch (err) {
      this.fail(new StatusError(Code.Unavailable, `ttrpc: malformed stream from server: ${(err as Error).message}`));
      this.socket.destroy();
      return;
    }
    for (const item of items) {
      if (item.kind === 'oversize') {
        this.settle(item.streamId)?.reject(new StatusError(Code.ResourceExhausted, `reply of ${item.length} bytes exceeds the ttrpc limit`));
        continue;
      }
      if (item.frame.type !== FrameType.Response) continue;
      const p = this.settle(item.frame.streamId);
      if (!p) continue;
      try {
        const { status, payload } = decodeResponse(item.frame.data);
        if (status.code !== Code.OK) p.reject(fromStatus(status));
        else p.resolve(payload);
      } catch (err) {
        p.reject(new StatusError(Code.Internal, `ttrpc: malformed response: ${(err as Error).message}`));
      }
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(err);
    for (const l of this.closeListeners.splice(0)) l(err);
  }
}

import net from 'node:net';
import fs from 'node:fs';
import { Code, toStatus, type Status } from '../../errors/index.js';
import {
  splitPath,
  type CallObserver,
  type Metadata,
  type MethodDefinition,
  type ServiceDefinition,
  type ServiceImplementation,
  type UnaryHandler,
} from '../service.js';
import { encodeFrame, FrameDecoder, FrameType, MAX_DATA_LENGTH } from './frame.js';
import { decodeRequest, encodeResponse } from './messages.js';

interface Registered {
  def: MethodDefinition<unknown, unknown>;
  handler: UnaryHandler<unknown, unknown>;
}

export interface TtrpcServerOptions {
  /** Called after each call (tracing, metrics); must not throw. */
  observer?: CallObserver;
  /** Called when a connection is dropped for a protocol error. */
  onProtocolError?: (err: Error) => void;
  /** Called for each accepted connection. */
  onConnection?: () => void;
}

/**
 * A ttrpc server on unix sockets. Each connection decodes frames on its own and runs every
 * request concurrently: containerd keeps a Wait open while it calls State and Kill on the
 * same connection.
 */
export class TtrpcServer {
  private readonly services = new Map<string, Map<string, Registered>>();
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly observers: CallObserver[] = [];

  constructor(private readonly options: TtrpcServerOptions = {}) {
    if (options.observer) this.observers.push(options.observer);
  }

  addService<D extends ServiceDefinition>(def: D, impl: ServiceImplementation<D>): void {
    for (const [key, m] of Object.entries(def)) {
      const { service, method } = splitPath(m.path);
      let methods = this.services.get(service);
      if (!methods) this.services.set(service, (methods = new Map()));
      const handler = (impl as Record<string, UnaryHandler<unknown, unknown>>)[key];
      if (!handler) throw new Error(`no handler for ${m.path}`);
      methods.set(method, { def: m, handler: handler.bind(impl) });
    }
  }

  observe(observer: CallObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /** Listens on a socket path (made 0600) or on an inherited listening fd. */
  async listen(target: string | { fd: number }): Promise<net.Server> {
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(typeof target === 'string' ? { path: target } : { fd: target.fd }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (typeof target === 'string') fs.chmodSync(target, 0o600);
    this.servers.push(server);
    return server;
  }

  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    this.options.onConnection?.();
    const decoder = new FrameDecoder();
    const inflight = new Map<number, AbortController>();
    let lastStream = 0;
    const write = (streamId: number, status: Status, payload?: Buffer) => {
      if (socket.destroyed) return;
      let data = encodeResponse(status, payload);
      if (data.length > MAX_DATA_LENGTH) {
        data = encodeResponse({ code: Code.ResourceExhausted, message: `response of ${data.length} bytes exceeds the ttrpc limit` });
      }
      socket.write(encodeFrame({ streamId, type: FrameType.Response, flags: 0, data }));
    };
    socket.on('data', (chunk: Buffer) => {
      let items;
      try {
        items = decoder.push(chunk);
      } catch (err) {
        this.options.onProtocolError?.(err as Error);
        socket.destroy();
        return;
      }
      for (const item of items) {
        if (item.kind === 'oversize') {
          if (item.type === FrameType.Request) {
            write(item.streamId, { code: Code.ResourceExhausted, message: `message of ${item.length} bytes exceeds the limit of ${MAX_DATA_LENGTH}` });
          }
          continue;
        }
        const { frame } = item;
        // ttrpc 1.1 servers ignore anything but requests, so later protocol additions pass.
        if (frame.type !== FrameType.Request) continue;
        if (frame.streamId % 2 === 0 || frame.streamId <= lastStream) {
          write(frame.streamId, { code: Code.InvalidArgument, message: `invalid stream id ${frame.streamId}` });
          continue;
        }
        lastStream = frame.streamId;
        void this.dispatch(frame.streamId, frame.data, inflight, write);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const ac of inflight.values()) ac.abort(new Error('connection closed'));
    });
  }

  private async dispatch(
    streamId: number,
    data: Buffer,
    inflight: Map<number, AbortController>,
    write: (streamId: number, status: Status, payload?: Buffer) => void,
  ): Promise<void> {
    const started = performance.now();
    let service = '';
    let method = '';
    let request: unknown;
    let status: Status = { code: Code.OK, message: '' };
    let payload: Buffer | undefined;
    const ac = new AbortController();
    inflight.set(streamId, ac);
    let timer: NodeJS.Timeout | undefined;
    try {
      let env;
      try {
        env = decodeRequest(data);
      } catch (err) {
        throw new StatusOnly(Code.InvalidArgument, `malformed request: ${(err as Error).message}`);
      }
      ({ service, method } = env);
      const methods = this.services.get(service);
      if (!methods) throw new StatusOnly(Code.Unimplemented, `service ${service}`);
      const reg = methods.get(method);
      if (!reg) throw new StatusOnly(Code.Unimplemented, `method ${method}`);
      try {
        request = reg.def.requestDeserialize(env.payload);
      } catch (err) {
        throw new StatusOnly(Code.InvalidArgument, `malformed ${method} request: ${(err as Error).message}`);
      }
      let deadline: number | undefined;
      const work = reg.handler(request, {
        service,
        method,
        metadata: env.metadata as Metadata,
        signal: ac.signal,
        get deadline() {
          return deadline;
        },
      });
      let result: unknown;
      if (env.timeoutNano > 0) {
        const ms = Math.max(1, Math.ceil(env.timeoutNano / 1e6));
        deadline = Date.now() + ms;
        result = await Promise.race([
          work,
          new Promise((_, reject) => {
            timer = setTimeout(() => {
              ac.abort(new Error('deadline exceeded'));
              reject(new StatusOnly(Code.DeadlineExceeded, `${method}: deadline of ${ms} ms exceeded`));
            }, ms);
          }),
        ]);
      } else {
        result = await work;
      }
      payload = reg.def.responseSerialize(result);
    } catch (err) {
      status = err instanceof StatusOnly ? { code: err.code, message: err.message } : toStatus(err);
    } finally {
      if (timer) clearTimeout(timer);
      inflight.delete(streamId);
    }
    write(streamId, status, payload);
    for (const observe of this.observers) {
      try {
        observe({ service, method, code: status.code, message: status.message, durationMs: performance.now() - started, request });
      } catch {
        // An observer is diagnostics only; it never breaks a call.
      }
    }
  }
}

/** A protocol-level failure that has its code already (unknown service, bad frame). */
class StatusOnly extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}


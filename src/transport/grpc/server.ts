/**
 * The same handler tables as the ttrpc server, served over gRPC with @grpc/grpc-js. Import
 * this module only when gRPC is configured: grpc-js costs ~10 MB and ~90 ms at start-up.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Code, toStatus } from '../../errors/index.js';
import {
  splitPath,
  type CallObserver,
  type Metadata,
  type ServiceDefinition,
  type ServiceImplementation,
  type UnaryHandler,
} from '../service.js';

export function fromGrpcMetadata(md: grpc.Metadata): Metadata {
  const out: Metadata = new Map();
  for (const [key, value] of Object.entries(md.getMap())) {
    out.set(key.toLowerCase(), md.get(key).map((v) => (Buffer.isBuffer(v) ? v.toString() : v)) ?? [String(value)]);
  }
  return out;
}

export class GrpcServer {
  private readonly server = new grpc.Server();
  private readonly observers: CallObserver[] = [];

  addService<D extends ServiceDefinition>(def: D, impl: ServiceImplementation<D>): void {
    const table: grpc.UntypedServiceImplementation = {};
    for (const [key, m] of Object.entries(def)) {
      const handler = (impl as Record<string, UnaryHandler<unknown, unknown>>)[key]!.bind(impl);
      const { service, method } = splitPath(m.path);
      table[key] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const started = performance.now();
        const ac = new AbortController();
        call.on('cancelled', () => ac.abort(new Error('cancelled')));
        const deadline = call.getDeadline();
        const ms = deadline instanceof Date ? deadline.getTime() : Number(deadline);
        const finish = (code: number, message: string) => {
          for (const o of this.observers) {
            try {
              o({ service, method, code, message, durationMs: performance.now() - started, request: call.request });
            } catch {
              // diagnostics only
            }
          }
        };
        handler(call.request, {
          service,
          method,
          metadata: fromGrpcMetadata(call.metadata),
          signal: ac.signal,
          deadline: Number.isFinite(ms) ? ms : undefined,
        }).then(
          (res) => {
            callback(null, res);
            finish(Code.OK, '');
          },
          (err: unknown) => {
            const s = toStatus(err);
            callback({ code: s.code, details: s.message, metadata: new grpc.Metadata() });
            finish(s.code, s.message);
          },
        );
      };
    }
    this.server.addService(def as unknown as grpc.ServiceDefinition, table);
  }

  observe(observer: CallObserver): void {
    this.observers.push(observer);
  }

  /** Listens on a unix socket path (made 0600). */
  async listen(path: string): Promise<void> {
    await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    fs.chmodSync(path, 0o600);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.tryShutdown(() => resolve());
      setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000).unref();
    });
  }
}

import * as grpc from '@grpc/grpc-js';
import { StatusError, Code } from '../../errors/index.js';
import type { CallOptions, ClientRequestOf, ClientResponseOf, AnyMethod, ServiceDefinition, ServiceClient } from '../service.js';
import { serviceClient } from '../service.js';

/** A gRPC client on a unix socket with the same call surface as TtrpcClient. */
export class GrpcClient {
  private readonly client: grpc.Client;

  constructor(path: string) {
    const target = path.startsWith('unix://') ? path : `unix://${path}`;
    this.client = new grpc.Client(target, grpc.credentials.createInsecure());
  }

  call<M extends AnyMethod>(def: M, request: ClientRequestOf<M>, opts: CallOptions = {}): Promise<ClientResponseOf<M>> {
    const md = new grpc.Metadata();
    for (const [k, values] of opts.metadata ?? []) for (const v of values) md.add(k, v);
    const options: grpc.CallOptions = {};
    if (opts.timeoutMs) options.deadline = Date.now() + opts.timeoutMs;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        def.path,
        def.requestSerialize as (v: unknown) => Buffer,
        def.responseDeserialize,
        request,
        md,
        options,
        (err, res) => {
          if (err) reject(new StatusError(err.code ?? Code.Unknown, err.details || err.message, { cause: err }));
          else resolve(res as ClientResponseOf<M>);
        },
      );
    });
  }

  service<D extends ServiceDefinition>(def: D): ServiceClient<D> {
    return serviceClient(def, (m, req, opts) => this.call(m, req as never, opts));
  }

  close(): void {
    this.client.close();
  }
}

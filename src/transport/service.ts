/**
 * Service definitions in the shape @grpc/grpc-js uses (path, serializers per method), so
 * one handler table can be served over ttrpc and over gRPC alike.
 */

export interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(data: Uint8Array): T;
}

export interface MethodDefinition<Req, Res> {
  path: string;
  requestStream: false;
  responseStream: false;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(data: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(data: Buffer): Res;
  originalName: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServiceDefinition = Record<string, MethodDefinition<any, any>>;

export type RequestOf<M> = M extends MethodDefinition<infer Req, unknown> ? Req : never;
export type ResponseOf<M> = M extends MethodDefinition<unknown, infer Res> ? Res : never;

/** Lower-cased keys, several values a key, as in Go's ttrpc.MD and gRPC metadata. */
export type Metadata = Map<string, string[]>;

export interface CallContext {
  service: string;
  method: string;
  metadata: Metadata;
  /** Aborted when the deadline passes or the connection goes away. */
  signal: AbortSignal;
  /** Absolute deadline (ms since epoch), if the caller set one. */
  deadline?: number;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;

export type ServiceImplementation<D extends ServiceDefinition> = {
  [K in keyof D]: UnaryHandler<RequestOf<D[K]>, ResponseOf<D[K]>>;
};

/** What a server reports after every call: the seam for tracing and metrics. */
export interface CallRecord {
  service: string;
  method: string;
  code: number;
  message: string;
  durationMs: number;
  request: unknown;
}
export type CallObserver = (record: CallRecord) => void;

const toBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function defineMethod<Req, Res>(
  service: string,
  name: string,
  req: Codec<Req>,
  res: Codec<Res>,
): MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v) => toBuffer(req.encode(v).finish()),
    requestDeserialize: (b) => req.decode(b),
    responseSerialize: (v) => toBuffer(res.encode(v).finish()),
    responseDeserialize: (b) => res.decode(b),
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  };
}

/** Splits "/pkg.Service/Method" into its two names. */
export function splitPath(path: string): { service: string; method: string } {
  const i = path.lastIndexOf('/');
  return { service: path.slice(1, i), method: path.slice(i + 1) };
}

/** The same methods under another service name: Task v3 is Task v2 on the wire. */
export function renameService<D extends ServiceDefinition>(def: D, service: string): D {
  const out: ServiceDefinition = {};
  for (const [key, m] of Object.entries(def)) {
    out[key] = { ...m, path: `/${service}/${splitPath(m.path).method}` };
  }
  return out as D;
}

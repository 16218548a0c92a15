/**
 * Service definitions in the shape @grpc/grpc-js uses (path, serializers per method), so
 * one handler table can be served over ttrpc and over gRPC alike.
 */

/** A message type: what encode takes (fields optional) and what decode gives (filled in). */
export interface Codec<In, Out = In> {
  encode(message: In): { finish(): Uint8Array };
  decode(data: Uint8Array): Out;
}

export interface MethodDefinition<ReqIn, ResIn, ReqOut = ReqIn, ResOut = ResIn> {
  path: string;
  requestStream: false;
  responseStream: false;
  requestSerialize(value: ReqIn): Buffer;
  requestDeserialize(data: Buffer): ReqOut;
  responseSerialize(value: ResIn): Buffer;
  responseDeserialize(data: Buffer): ResOut;
  originalName: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodDefinition<any, any, any, any>;
export type ServiceDefinition = Record<string, AnyMethod>;

/** What a handler receives and returns. */
export type RequestOf<M> = M extends MethodDefinition<infer _I, infer _R, infer Out, infer _O> ? Out : never;
export type ResponseOf<M> = M extends MethodDefinition<infer _I, infer In, infer _Q, infer _O> ? In : never;
/** What a client sends and gets back. */
export type ClientRequestOf<M> = M extends MethodDefinition<infer In, infer _R, infer _Q, infer _O> ? In : never;
export type ClientResponseOf<M> = M extends MethodDefinition<infer _I, infer _R, infer _Q, infer Out> ? Out : never;

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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EncodeIn<C> = C extends { encode(message: infer I, ...rest: any[]): unknown } ? I : never;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DecodeOut<C> = C extends { decode(data: any, ...rest: any[]): infer O } ? O : never;

export function defineMethod<Req extends Codec<any, any>, Res extends Codec<any, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any
  service: string,
  name: string,
  req: Req,
  res: Res,
): MethodDefinition<EncodeIn<Req>, EncodeIn<Res>, DecodeOut<Req>, DecodeOut<Res>> {
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

/** Per-call options, the same for both transports. */
export interface CallOptions {
  /** Relative timeout; sent to the server (ttrpc timeout_nano, gRPC deadline) and enforced here too. */
  timeoutMs?: number;
  metadata?: Metadata;
  signal?: AbortSignal;
}

export type ServiceClient<D extends ServiceDefinition> = {
  [K in keyof D]: (req: ClientRequestOf<D[K]>, opts?: CallOptions) => Promise<ClientResponseOf<D[K]>>;
};

/** A typed facade for a whole service (client.Create(req) and so on) over one call function. */
export function serviceClient<D extends ServiceDefinition>(
  def: D,
  call: (method: AnyMethod, request: unknown, opts?: CallOptions) => Promise<unknown>,
): ServiceClient<D> {
  const out: Record<string, unknown> = {};
  for (const [key, m] of Object.entries(def)) out[key] = (req: unknown, opts?: CallOptions) => call(m, req, opts);
  return out as ServiceClient<D>;
}

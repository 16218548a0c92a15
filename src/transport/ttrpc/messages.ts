import { ttrpc } from '../../gen/proto.js';
import type { Metadata } from '../service.js';
import type { Status } from '../../errors/index.js';

/** The envelope of every ttrpc request and reply, with int64 and metadata made plain. */
export interface RequestEnvelope {
  service: string;
  method: string;
  payload: Buffer;
  timeoutNano: number;
  metadata: Metadata;
}

export function encodeRequest(r: RequestEnvelope): Buffer {
  const metadata: { key: string; value: string }[] = [];
  for (const [key, values] of r.metadata) for (const value of values) metadata.push({ key, value });
  const bytes = ttrpc.Request.encode({
    service: r.service,
    method: r.method,
    payload: r.payload,
    timeoutNano: r.timeoutNano,
    metadata,
  }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeRequest(data: Buffer): RequestEnvelope {
  const r = ttrpc.Request.decode(data);
  const metadata: Metadata = new Map();
  for (const kv of r.metadata ?? []) {
    const key = (kv.key ?? '').toLowerCase();
    const list = metadata.get(key);
    if (list) list.push(kv.value ?? '');
    else metadata.set(key, [kv.value ?? '']);
  }
  return {
    service: r.service ?? '',
    method: r.method ?? '',
    payload: Buffer.from(r.payload ?? []),
    timeoutNano: Number(r.timeoutNano ?? 0),
    metadata,
  };
}

export function encodeResponse(status: Status, payload?: Buffer): Buffer {
  // An OK reply carries no status at all: that is what containerd's own server sends.
  const msg: ttrpc.IResponse = status.code === 0 ? {} : { status: { code: status.code, message: status.message } };
  if (payload && payload.length > 0) msg.payload = payload;
  const bytes = ttrpc.Response.encode(msg).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeResponse(data: Buffer): { status: Status; payload: Buffer } {
  const r = ttrpc.Response.decode(data);
  return {
    status: { code: r.status?.code ?? 0, message: r.status?.message ?? '' },
    payload: Buffer.from(r.payload ?? []),
  };
}

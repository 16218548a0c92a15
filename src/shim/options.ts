/**
 * The runtime options containerd writes to `start`'s stdin: a protobuf Any. Decoded by hand
 * (two levels of length-delimited fields) so `start` loads no generated code.
 */
import fs from 'node:fs';

export interface RuntimeOptions {
  typeUrl: string;
  /** runtimeoptions.v1.Options.config_path: our config file. */
  configPath?: string;
  /** containerd.runc.v1.Options.shim_cgroup: the cgroup runc-v2 would put its shim in. */
  shimCgroup?: string;
}

function* fields(buf: Buffer): Generator<[number, Buffer | number]> {
  let i = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    const field = Math.floor(key / 8);
    if (wire === 0) yield [field, varint()];
    else if (wire === 2) {
      const n = varint();
      if (i + n > buf.length) throw new Error('truncated field');
      yield [field, buf.subarray(i, i + n)];
      i += n;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

export function decodeRuntimeOptions(data: Buffer): RuntimeOptions | undefined {
  if (data.length === 0) return undefined;
  let typeUrl = '';
  let value: Buffer = Buffer.alloc(0);
  for (const [f, v] of fields(data)) {
    if (f === 1 && Buffer.isBuffer(v)) typeUrl = v.toString();
    if (f === 2 && Buffer.isBuffer(v)) value = v;
  }
  const out: RuntimeOptions = { typeUrl };
  if (typeUrl.endsWith('runtimeoptions.v1.Options')) {
    for (const [f, v] of fields(value)) if (f === 2 && Buffer.isBuffer(v)) out.configPath = v.toString();
  }
  if (typeUrl.endsWith('containerd.runc.v1.Options')) {
    for (const [f, v] of fields(value)) if (f === 3 && Buffer.isBuffer(v) && v.length > 0) out.shimCgroup = v.toString();
  }
  return out;
}

/** Reads stdin to the end: /dev/null or the options containerd piped in. */
export function readStdinOptions(): RuntimeOptions | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(0);
  } catch {
    return undefined;
  }
  return decodeRuntimeOptions(data);
}

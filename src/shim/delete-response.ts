/**
 * containerd.task.v2.DeleteResponse written by hand: `delete` runs for every container and
 * three fields do not justify loading the generated protobuf code.
 */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

export function encodeDeleteResponse(r: { pid: number; exitStatus: number; exitedAt: Date }): Buffer {
  const ms = r.exitedAt.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1e6;
  const ts = [0x08, ...varint(seconds), ...(nanos ? [0x10, ...varint(nanos)] : [])];
  const bytes = [
    ...(r.pid ? [0x08, ...varint(r.pid)] : []),
    ...(r.exitStatus ? [0x10, ...varint(r.exitStatus)] : []),
    0x1a,
    ...varint(ts.length),
    ...ts,
  ];
  return Buffer.from(bytes);
}

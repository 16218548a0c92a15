/**
 * ttrpc framing: a 10-byte big-endian header (data length, stream id, type, flags) and the
 * data. Pure and push-based: the decoder is fed whatever chunks the socket delivers and
 * hands back whole frames, so it can be tested with plain Buffers.
 */

export const HEADER_LENGTH = 10;
/** The data limit of every ttrpc implementation (`messageLengthMax` in Go's channel.go). */
export const MAX_DATA_LENGTH = 4 << 20;
/**
 * Byte 0 of the length is reserved and always 0 for a sane peer, so a length at or above
 * this is garbage, not a big message: the stream cannot be trusted any further.
 */
export const MALFORMED_LENGTH = 1 << 24;

export const FrameType = { Request: 1, Response: 2, Data: 3 } as const;
export type FrameType = number;

export interface Frame {
  streamId: number;
  type: FrameType;
  flags: number;
  data: Buffer;
}

export type DecodedItem =
  | { kind: 'frame'; frame: Frame }
  /** A frame over the size cap whose data was skipped; the peer should get ResourceExhausted. */
  | { kind: 'oversize'; streamId: number; type: FrameType; length: number };

export class MalformedStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedStreamError';
  }
}

export function encodeFrame(frame: Frame): Buffer {
  if (frame.data.length > MAX_DATA_LENGTH) {
    throw new RangeError(`ttrpc frame data of ${frame.data.length} bytes exceeds ${MAX_DATA_LENGTH}`);
  }
  const header = Buffer.allocUnsafe(HEADER_LENGTH);
  header.writeUInt32BE(frame.data.length, 0);
  header.writeUInt32BE(frame.streamId >>> 0, 4);
  header.writeUInt8(frame.type, 8);
  header.writeUInt8(frame.flags, 9);
  return frame.data.length === 0 ? header : Buffer.concat([header, frame.data]);
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: { length: number; streamId: number; type: number; flags: number } | null = null;
  private skipping = 0;
  private broken = false;

  constructor(private readonly maxDataLength = MAX_DATA_LENGTH) {}

  /** Feeds bytes in; returns every item completed by them. Throws MalformedStreamError. */
  push(chunk: Buffer): DecodedItem[] {
    if (this.broken) throw new MalformedStreamError('stream already malformed');
    const out: DecodedItem[] = [];
    let input = chunk;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, input.length);
      this.skipping -= n;
      input = input.subarray(n);
    }
    if (input.length > 0) {
      this.chunks.push(input);
      this.buffered += input.length;
    }
    for (;;) {
      if (this.header === null) {
        if (this.buffered < HEADER_LENGTH) break;
        const h = this.take(HEADER_LENGTH);
        const length = h.readUInt32BE(0);
        const head = { length, streamId: h.readUInt32BE(4), type: h.readUInt8(8), flags: h.readUInt8(9) };
        if (length >= MALFORMED_LENGTH) {
          this.broken = true;
          throw new MalformedStreamError(`ttrpc frame length ${length} is not plausible`);
        }
        if (length > this.maxDataLength) {
          out.push({ kind: 'oversize', streamId: head.streamId, type: head.type, length });
          const n = Math.min(length, this.buffered);
          this.discard(n);
          this.skipping = length - n;
          if (this.skipping > 0) break;
          continue;
        }
        this.header = head;
      }
      if (this.buffered < this.header.length) break;
      const data = this.header.length === 0 ? Buffer.alloc(0) : this.take(this.header.length);
      const { streamId, type, flags } = this.header;
      this.header = null;
      out.push({ kind: 'frame', frame: { streamId, type, flags, data } });
    }
    return out;
  }

  /** Bytes held for a frame not yet complete: lets a caller tell a clean close from a cut one. */
  get pending(): number {
    return this.buffered + (this.header ? HEADER_LENGTH : 0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  private discard(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        left -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
  }
}

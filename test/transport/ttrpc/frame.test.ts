import t from 'tap';
import {
  encodeFrame,
  FrameDecoder,
  FrameType,
  HEADER_LENGTH,
  MAX_DATA_LENGTH,
  MalformedStreamError,
  type DecodedItem,
} from '../../../src/transport/ttrpc/frame.js';

const frame = (streamId: number, data: string, type: number = FrameType.Request, flags = 0) => ({
  streamId,
  type,
  flags,
  data: Buffer.from(data),
});

const frames = (items: DecodedItem[]) =>
  items.map((i) => (i.kind === 'frame' ? { ...i.frame, data: i.frame.data.toString() } : i));
const expected = [
  { streamId: 1, type: 1, flags: 0, data: 'hello' },
  { streamId: 3, type: 1, flags: 0, data: '' },
  { streamId: 5, type: 3, flags: 1, data: 'x'.repeat(1000) },
];

t.test('header layout matches the worked bytes of the protocol', async (t) => {
  // A successful Forward reply as containerd's own server sends it: 00000000 00000001 02 00.
  t.equal(encodeFrame({ streamId: 1, type: FrameType.Response, flags: 0, data: Buffer.alloc(0) }).toString('hex'), '00000000000000010200');
  const enc = encodeFrame(frame(3, 'abc'));
  t.equal(enc.subarray(0, HEADER_LENGTH).toString('hex'), '00000003000000030100');
  t.equal(enc.subarray(HEADER_LENGTH).toString(), 'abc');
});

t.test('decoding tables', async (t) => {
  const a = encodeFrame(frame(1, 'hello'));
  const b = encodeFrame(frame(3, ''));
  const c = encodeFrame(frame(5, 'x'.repeat(1000), FrameType.Data, 1));
  const all = Buffer.concat([a, b, c]);
  const cases: { name: string; chunks: Buffer[] }[] = [
    { name: 'one chunk holding three frames', chunks: [all] },
    { name: 'byte by byte', chunks: [...all].map((x) => Buffer.from([x])) },
    { name: 'split inside the header', chunks: [all.subarray(0, 4), all.subarray(4)] },
    { name: 'split at the header boundary', chunks: [all.subarray(0, 10), all.subarray(10)] },
    { name: 'split inside the data, frames merged after', chunks: [all.subarray(0, 12), all.subarray(12, a.length + 3), all.subarray(a.length + 3)] },
  ];
  for (const c2 of cases) {
    const d = new FrameDecoder();
    const out: DecodedItem[] = [];
    for (const ch of c2.chunks) out.push(...d.push(ch));
    t.same(frames(out), expected, c2.name);
    t.equal(d.pending, 0, `${c2.name}: nothing left over`);
  }
});

t.test('unknown frame types are decoded, not rejected: the server decides', async (t) => {
  const d = new FrameDecoder();
  const out = d.push(encodeFrame(frame(7, 'z', 0x42)));
  t.equal(out.length, 1);
  t.equal(out[0]!.kind === 'frame' && out[0]!.frame.type, 0x42);
});

t.test('a frame over the cap is skipped and reported, the next one still decodes', async (t) => {
  const d = new FrameDecoder(16);
  const big = Buffer.alloc(HEADER_LENGTH + 40);
  big.writeUInt32BE(40, 0);
  big.writeUInt32BE(9, 4);
  big.writeUInt8(FrameType.Request, 8);
  const next = encodeFrame(frame(11, 'ok'));
  const out = [...d.push(big.subarray(0, 20)), ...d.push(big.subarray(20)), ...d.push(next)];
  t.same(out[0], { kind: 'oversize', streamId: 9, type: FrameType.Request, length: 40 });
  t.equal(out[1]!.kind === 'frame' && out[1]!.frame.data.toString(), 'ok');
  t.equal(out.length, 2);
});

t.test('the real cap is 4 MiB', async (t) => {
  t.equal(MAX_DATA_LENGTH, 4194304);
  t.throws(() => encodeFrame({ streamId: 1, type: 1, flags: 0, data: Buffer.alloc(MAX_DATA_LENGTH + 1) }), RangeError);
  const d = new FrameDecoder();
  const ok = encodeFrame({ streamId: 1, type: 1, flags: 0, data: Buffer.alloc(MAX_DATA_LENGTH) });
  t.equal(d.push(ok).length, 1);
});

t.test('an absurd length marks the stream malformed', async (t) => {
  const d = new FrameDecoder();
  const h = Buffer.from('ffffffff000000010100', 'hex');
  t.throws(() => d.push(h), MalformedStreamError);
  t.throws(() => d.push(Buffer.from('00')), MalformedStreamError);
});

import t from 'tap';
import { createHash } from 'node:crypto';
import { sha256Hex } from '../../src/shim/sha256.js';

t.test('agrees with node:crypto on the FIPS vectors and on every length around the block edges', async (t) => {
  t.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const ref = (s: string) => createHash('sha256').update(s).digest('hex');
  let bad = 0;
  for (let n = 0; n < 300; n++) {
    const s = 'x'.repeat(n);
    if (sha256Hex(s) !== ref(s)) bad++;
  }
  t.equal(bad, 0, 'lengths 0..299');
  for (const s of ['/run/containerd/containerd.sock/k8s.io/switchyard:ttrpc', 'ünïcödé ☃ 𝄞', '\0a\0b']) t.equal(sha256Hex(s), ref(s), JSON.stringify(s));
});

import t from 'tap';
import { randomHex } from '../../src/sys/random.js';

t.test('random hex of the asked length, different each time', async (t) => {
  const a = randomHex(8);
  t.match(a, /^[0-9a-f]{16}$/);
  t.equal(randomHex(4).length, 8);
  const seen = new Set(Array.from({ length: 200 }, () => randomHex(8)));
  t.equal(seen.size, 200, 'no repeats in 200 names');
});

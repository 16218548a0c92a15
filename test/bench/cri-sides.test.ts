/**
 * The CRI section's plumbing, without containerd: the round order is fair to every side,
 * BENCH_CRI_SIDES selects sides (the baseline always), and each Switchyard side gets a
 * cold twin handler with a short idle_timeout and the main config's runtimes.
 */
import t from 'tap';
import { rotation } from '../../bench/cri/dist.js';
import { BASELINE, coldHandler, CRI_SIDES, handlersFor, selectSides } from '../../bench/cri/sides.js';

t.test('rotation: over full turns each side is first and last equally often', async (t) => {
  const sides = ['a', 'b', 'c'];
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  for (let r = 0; r < 6; r++) {
    const o = rotation(r, sides);
    t.same([...o].sort(), sides, `round ${r} runs every side once`);
    first.set(o[0]!, (first.get(o[0]!) ?? 0) + 1);
    last.set(o[2]!, (last.get(o[2]!) ?? 0) + 1);
  }
  t.same([...first.values()], [2, 2, 2], 'first twice each');
  t.same([...last.values()], [2, 2, 2], 'last twice each');
  t.same([0, 1, 2, 3].map((r) => rotation(r, ['A', 'B']).join('')), ['AB', 'BA', 'BA', 'AB'], 'ABBA for two');
  t.same(rotation(3, []), []);
});

t.test('BENCH_CRI_SIDES picks sides, baseline always first; an unknown name is an error', async (t) => {
  t.same(selectSides({}).map((s) => s.name), CRI_SIDES.map((s) => s.name), 'default: all');
  t.same(selectSides({ BENCH_CRI_SIDES: 'switchyard' }).map((s) => s.name), [BASELINE, 'switchyard']);
  t.throws(() => selectSides({ BENCH_CRI_SIDES: 'nope' }), /unknown side nope/);
});

t.test('every Switchyard side has a cold twin with a short idle_timeout and the runtimes', async (t) => {
  const sides = selectSides({});
  const h = handlersFor(sides, '\n[runtimes.runsc]\nbinary = "/x/runsc"\n', '1s');
  t.equal(coldHandler(sides.find((s) => s.name === BASELINE)!), undefined, 'runc-v2 has none');
  t.same(Object.keys(h), ['switchyard-cold', 'switchyard-sandbox'], 'sides on one handler share one twin; the stock handlers are not redefined; the sandbox handler is declared');
  t.equal(coldHandler(sides.find((s) => s.name === 'sy-sandbox')!), undefined, 'a sandbox side has no twin (options on its handler break containerd 2.0-2.3.0)');
  t.equal(h['switchyard-cold']!.runtimeType, 'io.containerd.switchyard.v2');
  t.same(h['switchyard-cold']!.switchyardConfig, { idle_timeout: '1s' });
  t.match(h['switchyard-cold']!.switchyardToml, /\[runtimes\.runsc\]/, 'the twin routes to runsc like the main config');
});

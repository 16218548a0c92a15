import t from 'tap';
import {
  Code,
  ErrorKind,
  ShimError,
  StatusError,
  describe,
  fromStatus,
  notFound,
  toStatus,
} from '../../src/errors/index.js';

t.test('every kind maps to its own code and back', async (t) => {
  const seen = new Set<number>();
  for (const kind of Object.values(ErrorKind)) {
    const s = toStatus(new ShimError(kind, `m-${kind}`));
    t.not(s.code, Code.OK, kind);
    t.notOk(seen.has(s.code), `${kind} has a code of its own`);
    seen.add(s.code);
    t.equal(fromStatus(s).kind, kind, `${kind} round-trips`);
  }
});

t.test('a relayed status passes through untouched', async (t) => {
  t.same(toStatus(new StatusError(Code.Aborted, 'from the delegate')), { code: Code.Aborted, message: 'from the delegate' });
});

t.test('a plain error is a bug of ours: Internal, not Unknown', async (t) => {
  t.equal(toStatus(new TypeError('x is undefined')).code, Code.Internal);
});

t.test('describe walks the causes', async (t) => {
  const e = notFound('task t1 not found', new Error('ENOENT: no such file'));
  t.equal(describe(e), 'task t1 not found: ENOENT: no such file');
});

import t from 'tap';
import { TomlLines, formatPath } from '../../src/config/toml-lines.js';

t.test('paths are named as in TOML, with array indices', async (t) => {
  t.equal(formatPath(['runtimes', 'runsc-kvm', 'args']), 'runtimes.runsc-kvm.args');
  t.equal(formatPath(['runtimes', 'my.rt', 'binary']), 'runtimes."my.rt".binary');
  t.equal(formatPath(['policy', 'rules', 2, 'allow']), 'policy.rules[2].allow');
});

t.test('lines of keys, tables and arrays of tables', async (t) => {
  const text = [
    '# a comment with x = 1', //                       1
    'top = """', //                                    2
    'not_a_key = 1', //                                3
    '"""', //                                          4
    'list = [', //                                     5
    '  "a", # [ not an opener', //                    6
    '  { inner = "]" },', //                           7
    ']', //                                            8
    'runtimes.dotted.binary = "x"', //                9
    '[runtimes."my.rt"]', //                          10
    "  'binary' = 'runc'", //                          11
    '[[policy.rules]]', //                            12
    'namespaces = ["a"]', //                          13
    '[policy.rules.extra]', //                        14
    'k = 1', //                                       15
    '[[policy.rules]]', //                            16
    'allow = """', //                                 17
    'x"""', //                                        18
    'default = "runc"', //                            19
    '[ policy ]', //                                  20
    'isolation = []', //                              21
  ].join('\n');
  const l = new TomlLines(text);
  const cases: [(string | number)[], number][] = [
    [['top'], 2],
    [['not_a_key'], 1],
    [['list'], 5],
    [['list', 'inner'], 5],
    [['runtimes', 'dotted', 'binary'], 9],
    [['runtimes', 'dotted'], 9],
    [['runtimes'], 9],
    [['runtimes', 'my.rt'], 10],
    [['runtimes', 'my.rt', 'binary'], 11],
    [['runtimes', 'my.rt', 'root'], 10],
    [['policy'], 12],
    [['policy', 'rules'], 12],
    [['policy', 'rules', 0], 12],
    [['policy', 'rules', 0, 'namespaces'], 13],
    [['policy', 'rules', 0, 'extra', 'k'], 15],
    [['policy', 'rules', 1], 16],
    [['policy', 'rules', 1, 'allow'], 17],
    [['policy', 'rules', 1, 'default'], 19],
    [['policy', 'rules', 1, 'namespaces'], 16],
    [['policy', 'isolation'], 21],
    [['nowhere'], 1],
  ];
  for (const [path, line] of cases) t.equal(l.lineOf(path), line, formatPath(path));
});

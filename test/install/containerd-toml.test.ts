import t from 'tap';
import { appendBlock, markedBlock, withoutBlock, blockIn } from '../../src/install/containerd-toml.js';
import { globMatch } from '../../src/install/flavour-containerd.js';
import { verifyEdit } from '../../src/install/verify-edit.js';

t.test('a block appended and taken out again gives back the same bytes', async (t) => {
  for (const text of ['', 'a = 1\n', 'a = 1\n\n', '# c\n[x]\ny = 2\n']) {
    const edited = appendBlock(text, markedBlock('[z]\nq = 1\n'));
    t.equal(withoutBlock(edited), text, JSON.stringify(text));
    t.equal(blockIn(edited), markedBlock('[z]\nq = 1\n'));
  }
  t.equal(withoutBlock('a = 1\n'), undefined);
});

t.test('verifyEdit: only additions pass', async (t) => {
  t.doesNotThrow(() => verifyEdit('f', 'a = 1\n', 'a = 1\n[b]\nc = 2\n', { b: { c: 2 } }, 'x'));
  t.throws(() => verifyEdit('f', 'a = 1\n', 'a = 2\n[b]\nc = 2\n', { b: { c: 2 } }, 'x'), /change the meaning/);
  t.throws(() => verifyEdit('f', '[b]\nc = 1\n', '[b]\nc = 1\n[b]\nc = 2\n', { b: { c: 2 } }, 'x'), /not be valid TOML/);
  t.throws(() => verifyEdit('f', '[b]\nc = 1\n', '[b]\nc = 2\n', { b: { c: 2 } }, 'x'), /override/);
});

t.test('globMatch follows filepath.Glob within one element', async (t) => {
  t.ok(globMatch('/etc/containerd/conf.d/*.toml', '/etc/containerd/conf.d/switchyard.toml'));
  t.notOk(globMatch('/etc/containerd/*.toml', '/etc/containerd/conf.d/switchyard.toml'));
  t.ok(globMatch('/etc/containerd/conf.d/switchyard.toml', '/etc/containerd/conf.d/switchyard.toml'));
});

import t from 'tap';
import { openStdio } from '../../src/io/process-stdio.js';
import { parseStdio } from '../../src/io/uri.js';
import { tempDir } from '../helpers/tmp.js';

t.test('ResizePty on a process without a terminal does nothing and succeeds, as runc-v2 answers', async (t) => {
  const stdio = await openStdio(parseStdio({ stdin: '', stdout: '', stderr: '', terminal: false }), {
    containerId: 'c1',
    namespace: 'ns1',
    scratchDir: tempDir(t),
  });
  t.teardown(() => stdio.close());
  t.doesNotThrow(() => stdio.resize(80, 24));
  t.equal(stdio.consoleSocket, undefined, 'still no terminal');
});

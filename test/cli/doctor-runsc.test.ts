import t from 'tap';
import { parseConfig } from '../../src/config/config.js';
import type { OciRuntimeConfig } from '../../src/config/types.js';
import { runscFindings } from '../../src/cli/doctor-runsc.js';
import { requireRoot } from '../e2e/lib/prereq.js';
import { requireRunsc } from '../e2e/lib/runsc.js';

const runsc = requireRoot(t) ? requireRunsc(t) : undefined;
if (runsc) {
  const rt = (net?: string) =>
    parseConfig(`[runtimes.runsc]\nbinary = "${runsc}"\n${net ? `[runtimes.runsc.runsc_config]\nnetwork = "${net}"\n` : ''}`, 'c.toml').runtimes.runsc as OciRuntimeConfig;

  t.test('doctor tries a real sandbox and names the platform', async (t) => {
    const f = runscFindings(rt('host'), runsc, 'c.toml');
    t.match(f.find((x) => x.check === 'runsc runsc sandbox'), { ok: true, detail: /`runsc do true` ran in a gVisor sandbox on the (systrap|ptrace|kvm) platform/ });
    t.match(f.find((x) => x.check === 'runsc runsc network'), { ok: true, detail: /network = "host"/ });
  });

  t.test('doctor finds the netstack that cannot start on this kernel before a pod does', async (t) => {
    const f = runscFindings(rt(), runsc, 'c.toml', '6.18.0');
    const net = f.find((x) => x.check === 'runsc runsc network')!;
    if (/20240729/.test(net.detail) || !net.ok) {
      t.match(net, { ok: false, severity: 'error', detail: /issue 10704/, fix: /network = "host".*\[runtimes\.runsc\.runsc_config\] in c\.toml/ });
    } else {
      t.pass(`a runsc with the fix: ${net.detail}`);
    }
    t.match(f.find((x) => x.check === 'runsc runsc sandbox'), { ok: true }, 'and still says whether a sandbox runs at all');
  });
}

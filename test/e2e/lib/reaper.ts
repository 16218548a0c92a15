// Detached watchdog for one private containerd (started by containerd.ts).
//
// The test process holds the write end of our stdin. Lines it may send:
//   ns <name>      another namespace to clean up
//   root <path>    another OCI runtime root to scan
//   pid <n>        containerd's (new) pid
//   done           containerd was stopped and cleaned up: exit without doing anything
// If stdin reaches EOF without "done" (the test process died, e.g. SIGKILL after a tap
// timeout), run forceCleanupSync. The spec comes in the SWITCHYARD_REAPER env variable,
// not argv, so the temp dir never appears in our cmdline (cleanup kills such processes).
import { forceCleanupSync, type CleanupSpec } from './cleanup.js';

function main(): void {
  const raw = process.env.SWITCHYARD_REAPER;
  if (!raw) return; // imported or run by a test runner by accident: do nothing
  const spec = JSON.parse(raw) as CleanupSpec;
  spec.namespaces ??= [];
  spec.runtimeRoots ??= [];
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'] as const) process.on(sig, () => {});

  let done = false;
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      const sp = line.indexOf(' ');
      const cmd = sp < 0 ? line : line.slice(0, sp);
      const arg = sp < 0 ? '' : line.slice(sp + 1);
      if (cmd === 'done') done = true;
      else if (cmd === 'ns' && arg) spec.namespaces!.push(arg);
      else if (cmd === 'root' && arg) spec.runtimeRoots!.push(arg);
      else if (cmd === 'pid' && /^\d+$/.test(arg)) spec.containerdPid = Number(arg);
    }
  });
  const finish = () => {
    if (!done) forceCleanupSync(spec);
    process.exit(0);
  };
  process.stdin.on('end', finish);
  process.stdin.on('error', finish);
}

main();

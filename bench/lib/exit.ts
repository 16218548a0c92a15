/**
 * Synchronous clean-up hooks for the benchmark's own leftovers (its cgroup, the ttrpc
 * bench's servers, Switchyard's daemon state). They run on normal exit, on an uncaught
 * error and on SIGINT/SIGTERM/SIGHUP. The private containerd, its shims, containers,
 * mounts and cgroups are cleaned by the e2e harness's own handlers (test/e2e/lib).
 */
const hooks: (() => void)[] = [];
let installed = false;

function runHooks(): void {
  // Newest first: later resources may depend on earlier ones.
  while (hooks.length) {
    const h = hooks.pop()!;
    try {
      h();
    } catch {
      // best effort: never let one hook stop the others
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
  // 'exit' handlers run in the order they were added: the harness's (registered when the
  // containerd started: it kills containerd and everything it spawned) before ours.
  process.exit(sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 129);
}

/** Register `fn`; returns a function that runs it now (once) and unregisters it. */
export function atExit(fn: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runHooks);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  }
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    fn();
  };
  hooks.push(once);
  return () => {
    const i = hooks.indexOf(once);
    if (i >= 0) hooks.splice(i, 1);
    once();
  };
}

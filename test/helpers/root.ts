/**
 * The few unit tests that need root (a socket under containerd's fixed /run/containerd/s,
 * a scratch cgroup, a Go shim that checks its peer's uid) declare it with tap's `skip`
 * option: `t.test(name, { skip: needsRoot('why') }, ...)`.
 *
 * A newcomer without root gets a skip that says why. In CI (CI=true) nothing is ever
 * skipped: there the tests run (as root), and a CI run without root fails on them rather
 * than going green by skipping.
 */
export function needsRoot(why: string): string | false {
  if (process.getuid?.() === 0 || process.env.CI === 'true') return false;
  return `needs root: ${why}`;
}

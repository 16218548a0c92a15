import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';

/**
 * Missing tools skip a test on a developer's machine but fail it in CI (CI=true), where a
 * missing prerequisite means the install step is broken, not that the test may pass.
 */
export function requireTools(t: Test, tools: string[], opts: { root?: boolean } = {}): boolean {
  const missing = tools.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore', env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
      return false;
    } catch {
      return true;
    }
  });
  const reasons = missing.map((m) => `${m} not found on PATH`);
  if (opts.root && process.getuid?.() !== 0) reasons.push('must run as root');
  if (reasons.length === 0) return true;
  const why = `prerequisite missing: ${reasons.join(', ')} (make deps installs them)`;
  if (process.env.CI === 'true') t.fail(why);
  else t.plan(0, why);
  return false;
}

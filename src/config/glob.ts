/**
 * Namespace patterns of policy rules: `*` matches any run of characters (none included),
 * `?` exactly one; everything else matches itself. Namespace names contain no `/`, so
 * there is no path semantics to mind.
 */

/** Kubernetes namespaces are DNS labels: lower-case letters, digits and `-`. */
export const K8S_PATTERN = /^[a-z0-9*?-]+$/;
/** containerd namespaces: letters, digits, `.`, `_`, `-`. */
export const CONTAINERD_PATTERN = /^[A-Za-z0-9._*?-]+$/;

export function globMatch(pattern: string, name: string): boolean {
  return globRegExp(pattern).test(name);
}

/** A pattern that matches every name: `*` (or `**`, …). */
export function isCatchAll(pattern: string): boolean {
  return /^\*+$/.test(pattern);
}

const cache = new Map<string, RegExp>();

function globRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 's');
    cache.set(pattern, re);
  }
  return re;
}

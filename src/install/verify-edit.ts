/**
 * The guard on every edit of a config we share with its owner: the edited text must parse,
 * and mean exactly the original plus what we add (nothing of theirs changed or lost).
 * TOML has traps for an append (a table defined inline or by dotted keys cannot be
 * extended by a header later), so the check is made by parsing, never assumed.
 */
import { failedPrecondition } from '../errors/index.js';
import { isTable, parseToml, type TomlDoc } from './containerd-toml.js';

/** `base` with `add` merged in, tables recursively; a key both define is a conflict. */
export function mergeDocs(base: TomlDoc, add: TomlDoc, at: string[] = []): TomlDoc {
  const out: TomlDoc = { ...base };
  for (const [k, v] of Object.entries(add)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (isTable(prev) && isTable(v)) out[k] = mergeDocs(prev, v, [...at, k]);
    else throw failedPrecondition(`${[...at, k].join('.')} is already set`);
  }
  return out;
}

function canonical(v: unknown): unknown {
  if (v instanceof Date) return { date: v.toISOString() };
  if (Array.isArray(v)) return v.map(canonical);
  if (isTable(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  if (typeof v === 'bigint') return { bigint: v.toString() };
  return v;
}

export function sameDoc(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * Throws (leaving the file alone) unless `edited` parses to `original` plus `added`.
 * `what` names the edit in the refusal.
 */
export function verifyEdit(file: string, original: string, edited: string, added: TomlDoc, what: string): void {
  const before = parseToml(original, file);
  let after: TomlDoc;
  try {
    after = parseToml(edited, file);
  } catch (err) {
    throw failedPrecondition(`${file}: ${what} would not be valid TOML there (${(err as Error).message.replace(/^.*left untouched: /, '')}); the file was left untouched`);
  }
  let expected: TomlDoc;
  try {
    expected = mergeDocs(before, added);
  } catch (err) {
    throw failedPrecondition(`${file}: ${what} would override settings already there (${(err as Error).message}); the file was left untouched`);
  }
  if (!sameDoc(after, expected)) throw failedPrecondition(`${file}: ${what} would change the meaning of settings already there; the file was left untouched`);
}

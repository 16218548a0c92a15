/**
 * The CRI runtime handlers a containerd config declares, as containerd would assemble
 * them: the main file and its imports (globs expanded), version 2 and 3 table names.
 * `switchyard doctor` reads the node's config through this.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { isTable, runtimesOf, type TomlDoc } from './containerd-toml.js';
import { globMatch } from './flavour-containerd.js';

export interface DeclaredRuntime {
  runtime_type?: string;
  pod_annotations?: string[];
  /** The file that declares it. */
  file: string;
}

function expand(pattern: string, base: string): string[] {
  const p = path.resolve(base, pattern);
  if (!/[*?[]/.test(p)) return fs.existsSync(p) ? [p] : [];
  const dir = path.dirname(p);
  try {
    return fs
      .readdirSync(dir)
      .map((n) => path.join(dir, n))
      .filter((f) => globMatch(p, f))
      .sort();
  } catch {
    return [];
  }
}

/** Throws when the main file cannot be read or parsed; an unreadable import is skipped, as containerd would fail on it visibly anyway. */
export function declaredRuntimes(file: string): Record<string, DeclaredRuntime> {
  const out: Record<string, DeclaredRuntime> = {};
  const seen = new Set<string>();
  const visit = (f: string, must: boolean) => {
    if (seen.has(f)) return;
    seen.add(f);
    let doc: TomlDoc;
    try {
      doc = parse(fs.readFileSync(f, 'utf8')) as TomlDoc;
    } catch (err) {
      if (must) throw err;
      return;
    }
    for (const v of [2, 3] as const) {
      for (const [name, t] of Object.entries(runtimesOf(doc, v))) {
        if (isTable(t)) out[name] = { ...out[name], ...(t as Omit<DeclaredRuntime, 'file'>), file: f };
      }
    }
    const imports = Array.isArray(doc.imports) ? doc.imports.filter((i): i is string => typeof i === 'string') : [];
    for (const i of imports) for (const g of expand(i, path.dirname(f))) visit(g, false);
  };
  visit(path.resolve(file), true);
  return out;
}

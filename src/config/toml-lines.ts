/**
 * Where each key of a TOML text is written, so a config error can name its line. smol-toml
 * gives values only, so this is a second, shallow pass: table headers (`[a.b]`,
 * `[[a.b]]`), `key = value` lines with dotted or quoted keys, and enough of the value
 * syntax (strings, multi-line strings and arrays, comments) to skip what spans lines.
 * Keys inside inline tables are not indexed; a lookup falls back to the nearest ancestor.
 */

/** A key path: table and key names, and the index of an array-of-tables element. */
export type KeyPath = readonly (string | number)[];

const BARE = /^[A-Za-z0-9_-]+$/;

/** `runtimes."my.rt".binary`, `policy.rules[1].allow`: how a path is named in messages. */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += (out ? '.' : '') + (BARE.test(seg) ? seg : JSON.stringify(seg));
  }
  return out;
}

export class TomlLines {
  private readonly lines = new Map<string, number>();

  constructor(text: string) {
    this.scan(text);
  }

  /** The line (1-based) that defines path, else its nearest indexed ancestor, else 1. */
  lineOf(path: KeyPath): number {
    for (let n = path.length; n > 0; n--) {
      const line = this.lines.get(keyOf(path.slice(0, n)));
      if (line !== undefined) return line;
    }
    return 1;
  }

  private note(path: KeyPath, line: number): void {
    const k = keyOf(path);
    if (!this.lines.has(k)) this.lines.set(k, line);
  }

  private scan(text: string): void {
    const src = text.split(/\r?\n/);
    /** Arrays of tables seen so far (by path without index) and their last index. */
    const arrays = new Map<string, number>();
    const withIndices = (keys: string[]): (string | number)[] => {
      const out: (string | number)[] = [];
      for (const k of keys) {
        out.push(k);
        const last = arrays.get(keyOf(out));
        if (last !== undefined) out.push(last);
      }
      return out;
    };
    let table: (string | number)[] = [];
    for (let i = 0; i < src.length; i++) {
      const line = src[i]!;
      const lineNo = i + 1;
      const trimmed = line.trimStart();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      if (trimmed.startsWith('[[')) {
        const keys = parseKeys(trimmed, 2).keys;
        if (!keys.length) continue;
        const parent = withIndices(keys.slice(0, -1));
        const base = [...parent, keys[keys.length - 1]!];
        const index = (arrays.get(keyOf(base)) ?? -1) + 1;
        arrays.set(keyOf(base), index);
        for (let n = 1; n <= base.length; n++) this.note(base.slice(0, n), lineNo);
        table = [...base, index];
        this.note(table, lineNo);
        continue;
      }
      if (trimmed.startsWith('[')) {
        const keys = parseKeys(trimmed, 1).keys;
        if (!keys.length) continue;
        table = withIndices(keys);
        for (let n = 1; n <= table.length; n++) this.note(table.slice(0, n), lineNo);
        continue;
      }
      const { keys, end } = parseKeys(trimmed, 0);
      if (!keys.length || trimmed[end] !== '=') continue;
      for (let n = 1; n <= keys.length; n++) this.note([...table, ...keys.slice(0, n)], lineNo);
      // Skip the lines a multi-line value spans, so their contents are not read as keys.
      const state: ValueState = { depth: 0, quote: '' };
      scanValue(trimmed.slice(end + 1), state);
      while ((state.depth > 0 || state.quote) && i + 1 < src.length) scanValue(src[++i]!, state);
    }
  }
}

function keyOf(path: KeyPath): string {
  return JSON.stringify(path);
}

/**
 * Reads a dotted key starting at `from` (after a header's brackets); stops at `=` or `]`.
 * Returns the keys and the index of the character that ended them.
 */
function parseKeys(s: string, from: number): { keys: string[]; end: number } {
  const keys: string[] = [];
  let i = from;
  const ws = () => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  for (;;) {
    ws();
    const c = s[i];
    if (c === '"') {
      let k = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) {
          k += unescape(s[i + 1]!);
          i += 2;
        } else k += s[i++];
      }
      i++;
      keys.push(k);
    } else if (c === "'") {
      const close = s.indexOf("'", i + 1);
      if (close < 0) return { keys: [], end: i };
      keys.push(s.slice(i + 1, close));
      i = close + 1;
    } else {
      const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i));
      if (!m) return { keys: [], end: i };
      keys.push(m[0]);
      i += m[0].length;
    }
    ws();
    if (s[i] !== '.') return { keys, end: i };
    i++;
  }
}

function unescape(c: string): string {
  return ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[c] ?? c;
}

interface ValueState {
  /** Open `[` and `{` outside strings. */
  depth: number;
  /** The open multi-line string delimiter, if any. */
  quote: '' | '"""' | "'''";
}

function scanValue(s: string, st: ValueState): void {
  let i = 0;
  while (i < s.length) {
    if (st.quote) {
      if (st.quote === '"""' && s[i] === '\\') {
        i += 2;
        continue;
      }
      if (s.startsWith(st.quote, i)) {
        st.quote = '';
        i += 3;
        continue;
      }
      i++;
      continue;
    }
    const c = s[i]!;
    if (s.startsWith('"""', i) || s.startsWith("'''", i)) {
      st.quote = s.slice(i, i + 3) as '"""' | "'''";
      i += 3;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === "'") {
      const close = s.indexOf("'", i + 1);
      i = close < 0 ? s.length : close + 1;
    } else if (c === '#') {
      return;
    } else {
      if (c === '[' || c === '{') st.depth++;
      else if (c === ']' || c === '}') st.depth--;
      i++;
    }
  }
}

/**
 * Typed reads of parsed TOML values. Every failure is an InvalidArgument that reads
 * `file:line: key: reason`, the line found by TomlLines.
 */
import { invalidArgument, type ShimError } from '../errors/index.js';
import { formatPath, type KeyPath, type TomlLines } from './toml-lines.js';

export type Table = Record<string, unknown>;

export class Fields {
  constructor(
    readonly source: string,
    private readonly lines: TomlLines,
  ) {}

  bad(path: KeyPath, why: string): ShimError {
    return invalidArgument(`${this.source}:${this.lines.lineOf(path)}: ${formatPath(path)}: ${why}`);
  }

  lineOf(path: KeyPath): number {
    return this.lines.lineOf(path);
  }

  string(value: unknown, path: KeyPath): string {
    if (typeof value !== 'string') throw this.bad(path, 'must be a string');
    return value;
  }

  nonEmptyString(value: unknown, path: KeyPath): string {
    const s = this.string(value, path);
    if (!s) throw this.bad(path, 'must not be empty');
    return s;
  }

  bool(value: unknown, path: KeyPath): boolean {
    if (typeof value !== 'boolean') throw this.bad(path, 'must be true or false');
    return value;
  }

  strings(value: unknown, path: KeyPath): string[] {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw this.bad(path, 'must be an array of strings');
    return value as string[];
  }

  table(value: unknown, path: KeyPath): Table {
    if (!isTable(value)) throw this.bad(path, 'must be a table');
    return value;
  }

  /** Refuses keys outside `known`, in the order they were written. */
  onlyKeys(t: Table, known: readonly string[], path: KeyPath, why = 'unknown key'): void {
    for (const key of Object.keys(t)) if (!known.includes(key)) throw this.bad([...path, key], why);
  }

  /** Refuses a repeated entry, naming it. */
  unique(values: readonly string[], path: KeyPath, what: string): void {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) throw this.bad(path, `duplicate ${what} "${v}"`);
      seen.add(v);
    }
  }
}

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** `a, b, c`, sorted: how known runtimes are listed in messages. */
export function listNames(names: Iterable<string>): string {
  return [...names].sort().join(', ');
}

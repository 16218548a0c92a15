/**
 * containerd's config as the installer writes and reads it: where CRI runtime handlers
 * live in config version 2 (containerd 1.x, accepted by 2.x) and version 3 (2.x), the
 * handler tables we write, and a real TOML parse of what is on the node.
 */
import { parse } from 'smol-toml';
import { failedPrecondition } from '../errors/index.js';

export type ConfigVersion = 2 | 3;
export type TomlDoc = Record<string, unknown>;

/** The CRI plugin table of each config version, and the runtimes below it. */
export const CRI_PLUGIN: Record<ConfigVersion, string> = { 2: 'io.containerd.grpc.v1.cri', 3: 'io.containerd.cri.v1.runtime' };
const RUNTIMES_KEYS = (v: ConfigVersion) => ['plugins', CRI_PLUGIN[v], 'containerd', 'runtimes'];

export const RUNTIME_TYPE = 'io.containerd.switchyard.v2';
export const BEGIN_MARK = '# BEGIN switchyard: written by `switchyard node install`, removed by `switchyard node uninstall`';
export const END_MARK = '# END switchyard';

/** One RuntimeClass handler: `switchyard`, or a pinned one naming its own Switchyard config. */
export interface Handler {
  name: string;
  podAnnotations: string[];
  /** The host path of the Switchyard config handed over as runtime options (ConfigPath). */
  configPath?: string;
}

/** Parses TOML; a file that does not parse is refused with its path and the parser's line. */
export function parseToml(text: string, file: string): TomlDoc {
  try {
    return parse(text) as TomlDoc;
  } catch (err) {
    throw failedPrecondition(`${file} is not valid TOML, so it was left untouched: ${(err as Error).message.split('\n')[0]}`, err);
  }
}

export function isTable(v: unknown): v is TomlDoc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function dig(doc: unknown, keys: readonly string[]): unknown {
  let cur = doc;
  for (const k of keys) {
    if (!isTable(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** The runtimes table of the CRI plugin ({} when absent). */
export function runtimesOf(doc: TomlDoc, version: ConfigVersion): TomlDoc {
  const r = dig(doc, RUNTIMES_KEYS(version));
  return isTable(r) ? r : {};
}

/**
 * The `version` key as containerd reads it: absent is version 1, whose plugin names differ
 * (`cri` rather than `io.containerd.grpc.v1.cri`) and which containerd 2.x only migrates.
 */
export function configVersion(doc: TomlDoc, file: string): ConfigVersion {
  const v = doc.version ?? 1;
  if (v === 2 || v === 3) return v;
  throw failedPrecondition(
    `${file} is containerd config version ${String(v)}; the installer writes versions 2 and 3 only, so the file was left untouched. ` +
      'Migrate it first (`containerd config migrate`), or install by hand (`switchyard install --print-containerd-config`).',
  );
}

const quote = (s: string) => JSON.stringify(s);

/** The handler tables in `version`'s form; `withRunc` spells out containerd's default handler. */
export function handlerTables(version: ConfigVersion, handlers: readonly Handler[], withRunc = false): string {
  const base = version === 2 ? `plugins.${quote(CRI_PLUGIN[2])}.containerd.runtimes` : `plugins.'${CRI_PLUGIN[3]}'.containerd.runtimes`;
  const out: string[] = [];
  if (withRunc) {
    // containerd 1.x replaces its built-in runtimes map with the declared one: without
    // this, declaring ours would take away the default `runc` handler.
    out.push(`[${base}.runc]`, `  runtime_type = "io.containerd.runc.v2"`, '');
  }
  for (const h of handlers) {
    out.push(`[${base}.${h.name}]`, `  runtime_type = ${quote(RUNTIME_TYPE)}`, `  pod_annotations = [${h.podAnnotations.map(quote).join(', ')}]`);
    if (h.configPath) out.push(`  [${base}.${h.name}.options]`, `    ConfigPath = ${quote(h.configPath)}`);
    out.push('');
  }
  return out.join('\n');
}

/** A drop-in file of its own: the version line, then the tables. */
export function dropInFile(version: ConfigVersion, handlers: readonly Handler[], withRunc: boolean): string {
  return `# Written by \`switchyard node install\`; \`switchyard node uninstall\` removes it.\nversion = ${version}\n\n${handlerTables(version, handlers, withRunc)}`;
}

/** The marked block appended to a file we share with its owner. */
export function markedBlock(body: string): string {
  return `${BEGIN_MARK}\n${body.trimEnd()}\n${END_MARK}\n`;
}

/** The text with our marked block taken out (and the blank line we put before it), or undefined if it has none. */
export function withoutBlock(text: string): string | undefined {
  const begin = text.indexOf(BEGIN_MARK);
  if (begin < 0) return undefined;
  const end = text.indexOf(END_MARK, begin);
  if (end < 0) return undefined;
  let from = begin;
  let to = end + END_MARK.length;
  if (text[to] === '\n') to += 1;
  // An appended block brought its blank line (appendBlock); one inserted mid-file did not.
  if (to === text.length && text.slice(0, from).endsWith('\n\n')) from -= 1;
  return text.slice(0, from) + text.slice(to);
}

/** Our marked block as it stands in the text, or undefined. */
export function blockIn(text: string): string | undefined {
  const begin = text.indexOf(BEGIN_MARK);
  const end = begin < 0 ? -1 : text.indexOf(END_MARK, begin);
  return end < 0 ? undefined : text.slice(begin, end + END_MARK.length + 1);
}

/** Appends a block, with one blank line before it. */
export function appendBlock(text: string, block: string): string {
  if (text === '') return block;
  return `${text.endsWith('\n') ? text : `${text}\n`}\n${block}`;
}

/**
 * Plain containerd (1.7 or 2.x, /etc/containerd/config.toml). The choice between a drop-in
 * and an edit of the main file follows how containerd merges `imports`:
 *   - 2.x merges an imported file into the main config table by table, so a version 3
 *     config gets a drop-in (/etc/containerd/conf.d/switchyard.toml) named in `imports`;
 *   - 1.x replaces a whole plugin's table with the imported one (seen: the main file's
 *     sandbox_image and runc options were lost), so a version 2 config that configures the
 *     CRI plugin gets our tables appended to it, verified by parsing; one that does not
 *     gets the drop-in;
 *   - no config file: one is created holding only our tables (version 2, which 1.7 and 2.x
 *     both read) and removed at uninstall.
 * A version 1 config, a file that does not parse, or a handler name already taken is
 * refused with the reason; nothing is written.
 */
import { failedPrecondition } from '../errors/index.js';
import {
  appendBlock,
  configVersion,
  dig,
  dropInFile,
  handlerTables,
  markedBlock,
  parseToml,
  runtimesOf,
  withoutBlock,
  CRI_PLUGIN,
  type ConfigVersion,
  type Handler,
  type TomlDoc,
} from './containerd-toml.js';
import { verifyEdit } from './verify-edit.js';
import { restartFor, type FileWrite, type Host, type Plan, type PlanOptions } from './plan.js';

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_DROP_IN = '/etc/containerd/conf.d/switchyard.toml';

export function planContainerd(host: Host, o: PlanOptions): Plan {
  const file = o.containerdConfig ?? CONTAINERD_CONFIG;
  const notes: string[] = [];
  const files: FileWrite[] = o.handlerConfigs.map((c) => ({ path: c.path, content: c.content, kind: 'own' }));
  const current = host.read(file);
  // Our own earlier edit is not the owner's config: judge the file without it.
  const text = current === undefined ? undefined : (withoutBlock(current) ?? current);
  const doc = text === undefined ? undefined : parseToml(text, file);
  const socket = socketOf(doc) ?? '/run/containerd/containerd.sock';
  const restart = restartFor('systemctl restart containerd', o);
  const plan = (what: FileWrite[]) => ({ flavour: 'containerd', containerdConfig: file, socket, files: [...files, ...what], restart, notes });

  if (doc === undefined || text === undefined || Object.keys(doc).length === 0) {
    notes.push(`${file} ${doc ? 'is empty' : 'does not exist'}: writing one with only our handlers (version 2, read by containerd 1.7 and 2.x)`);
    return plan([{ path: file, content: dropInFile(2, o.handlers, true), kind: 'own' }]);
  }
  const version = configVersion(doc, file);
  refuseTaken(doc, version, o.handlers, file);

  const imports = doc.imports;
  if (imports !== undefined && !(Array.isArray(imports) && imports.every((i) => typeof i === 'string'))) {
    throw failedPrecondition(`${file}: imports is not a list of paths; the file was left untouched`);
  }
  const covered = (imports as string[] | undefined)?.some((p) => globMatch(p, CONTAINERD_DROP_IN)) ?? false;
  const criConfigured = dig(doc, ['plugins', CRI_PLUGIN[2]]) !== undefined;
  const dropIn = { path: CONTAINERD_DROP_IN, kind: 'own' as const };

  if (version === 2 && criConfigured) {
    notes.push(`${file} is version 2 and configures the CRI plugin: containerd 1.x would let a drop-in replace that table, so our handlers are appended to it`);
    return plan([appendHandlers(file, text, version, o.handlers, needsRunc(doc, version))]);
  }
  if (covered) {
    notes.push(`${file} already imports ${CONTAINERD_DROP_IN}: writing the drop-in only`);
    return plan([{ ...dropIn, content: dropInFile(version, o.handlers, version === 2) }]);
  }
  if (imports === undefined) {
    notes.push(`${file} has no imports: adding one for ${CONTAINERD_DROP_IN} and writing the drop-in`);
    return plan([
      { path: file, content: insertImports(file, text, CONTAINERD_DROP_IN), kind: 'shared' },
      { ...dropIn, content: dropInFile(version, o.handlers, version === 2) },
    ]);
  }
  notes.push(`${file} imports other files only: our handlers are appended to it rather than its imports list rewritten`);
  return plan([appendHandlers(file, text, version, o.handlers, version === 2 && needsRunc(doc, version))]);
}

function socketOf(doc: TomlDoc | undefined): string | undefined {
  const a = dig(doc, ['grpc', 'address']);
  return typeof a === 'string' && a ? a.replace(/^unix:\/\//, '') : undefined;
}

function refuseTaken(doc: TomlDoc, version: ConfigVersion, handlers: readonly Handler[], file: string): void {
  const runtimes = runtimesOf(doc, version);
  for (const h of handlers) {
    if (runtimes[h.name] !== undefined) {
      throw failedPrecondition(`${file} already defines a runtime handler "${h.name}" that the installer did not write; remove it or rename ours, then install again. The file was left untouched`);
    }
  }
}

/** Whether declaring a runtime would lose containerd 1.x's built-in `runc` handler. */
function needsRunc(doc: TomlDoc, version: ConfigVersion): boolean {
  if (version !== 2) return false;
  const name = dig(doc, ['plugins', CRI_PLUGIN[2], 'containerd', 'default_runtime_name']) ?? 'runc';
  return name === 'runc' && runtimesOf(doc, 2).runc === undefined;
}

function appendHandlers(file: string, text: string, version: ConfigVersion, handlers: readonly Handler[], withRunc: boolean): FileWrite {
  const tables = handlerTables(version, handlers, withRunc);
  const edited = appendBlock(text, markedBlock(tables));
  verifyEdit(file, text, edited, parseToml(tables, 'our handler tables'), 'appending our runtime handlers');
  return { path: file, content: edited, kind: 'shared' };
}

/** `imports = [...]` as a marked block before the first table, where top-level keys must be. */
function insertImports(file: string, text: string, dropIn: string): string {
  const line = `imports = [${JSON.stringify(dropIn)}]`;
  const m = /^[ \t]*\[/m.exec(text);
  const at = m ? m.index : text.length;
  const head = text.slice(0, at);
  const edited = `${head}${head === '' || head.endsWith('\n') ? '' : '\n'}${markedBlock(line)}${text.slice(at)}`;
  verifyEdit(file, text, edited, { imports: [dropIn] }, 'adding an imports line');
  return edited;
}

/** containerd expands imports with filepath.Glob: `*`, `?` and `[...]` within one path element. */
export function globMatch(pattern: string, file: string): boolean {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(file);
}


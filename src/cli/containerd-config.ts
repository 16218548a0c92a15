/**
 * containerd's own config as Switchyard needs it: the runtime entry to paste, in the form
 * the node's containerd reads (config version 2 for 1.6/1.7, version 3 for 2.x), and the
 * checks `doctor` runs on an existing file. The trap in both forms is `pod_annotations`:
 * without it containerd hands the shim no pod annotation, and every pod quietly gets the
 * default runtime.
 */
import { execFileSync } from 'node:child_process';
import type { Config } from '../config/config.js';
import { findOnPath } from '../routing/find-on-path.js';
import { parseVersionLine, type ContainerdVersion } from '../shim/containerd-version.js';

export type ConfigForm = 2 | 3;
export const RUNTIME_TYPE = 'io.containerd.switchyard.v2';

const V2_RUNTIMES = 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes';
const V3_RUNTIMES = "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes";

/** The table holding CRI runtime handlers in a config of this form. */
export function runtimesTable(form: ConfigForm): string {
  return form === 3 ? V3_RUNTIMES : V2_RUNTIMES;
}

/** "1.6", "1.7.24", "2.1.9+unknown" → the config form that containerd reads natively. */
export function formFor(version: Pick<ContainerdVersion, 'major'>): ConfigForm {
  return version.major >= 2 ? 3 : 2;
}

export function parseVersionArg(text: string): ContainerdVersion | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), text: text.trim() } : undefined;
}

/** The containerd on PATH, by its `--version` line; undefined when there is none. */
export function installedContainerd(PATH = process.env.PATH ?? ''): ContainerdVersion | undefined {
  const bin = findOnPath('containerd', PATH);
  if (!bin) return undefined;
  try {
    return parseVersionLine(execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}

export const SANDBOX_HANDLER = 'switchyard-sandbox';

/** containerd 2.0 to 2.2 panic on a host-network pod of a `sandboxer = "shim"` handler (a nil spec in NewBundle; fixed in 2.3). */
export function hostNetworkPanics(v: Pick<ContainerdVersion, 'major' | 'minor'>): boolean {
  return v.major === 2 && v.minor < 3;
}

const HOST_NETWORK_WARNING =
  '# containerd 2.0-2.2: a hostNetwork pod on this handler makes containerd itself panic\n' +
  '# (fixed in 2.3): run hostNetwork pods on the "switchyard" handler.\n';

/**
 * The runtime entries to add to /etc/containerd/config.toml: `switchyard` (a pause
 * container per pod, every containerd) and, for containerd 2.x, `switchyard-sandbox`,
 * whose pods containerd hands to the shim's Sandbox API whole (no pause container).
 */
export function containerdSnippet(cfg: Pick<Config, 'annotationKey'>, form: ConfigForm = 2, forVersion?: string): string {
  const who = forVersion ? `containerd ${forVersion}` : form === 3 ? 'containerd 2.x' : 'containerd 1.6/1.7';
  const head =
    form === 3
      ? `# ${who}, config version 3: the file says version = 3; add the tables and restart containerd.\nversion = 3\n`
      : `# ${who}, config version 2: add to /etc/containerd/config.toml and restart containerd.\n`;
  const main = `${head}[${runtimesTable(form)}.switchyard]
  runtime_type = "${RUNTIME_TYPE}"
  # Pods choose a runtime with this annotation; containerd passes only the ones listed here.
  pod_annotations = ["${cfg.annotationKey}"]
`;
  if (form === 2) return `${main}# containerd 2.x also takes a "${SANDBOX_HANDLER}" handler (sandboxer = "shim", pods without a pause container): print this for --containerd-version 2.1.\n`;
  const v = forVersion ? parseVersionArg(forVersion) : undefined;
  return `${main}
# Pods without a pause container: containerd 2.x hands each pod to Switchyard's Sandbox API.
${!v || hostNetworkPanics(v) ? HOST_NETWORK_WARNING : ''}[${runtimesTable(form)}.${SANDBOX_HANDLER}]
  runtime_type = "${RUNTIME_TYPE}"
  sandboxer = "shim"
  # The pod's annotations reach the Sandbox API whole; its containers inherit the pod's runtime.
  pod_annotations = ["${cfg.annotationKey}"]
`;
}

export interface Finding {
  check: string;
  ok: boolean;
  severity: 'error' | 'warning' | 'info';
  detail: string;
  fix?: string;
}

/** Glob match for containerd's pod_annotations entries ("switchyard.dev/*"). */
const covers = (pattern: string, key: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(key);

type Table = Record<string, unknown>;
const table = (v: unknown): Table => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Table) : {});

function ourRuntimes(runtimes: Table): [string, Table][] {
  return Object.entries(runtimes)
    .map(([name, v]) => [name, table(v)] as [string, Table])
    .filter(([, v]) => v.runtime_type === RUNTIME_TYPE);
}

/**
 * Checks a parsed containerd config: where its form keeps CRI handlers, whether one is
 * ours, and whether its pod_annotations let the annotation key through (and nothing that
 * policy trusts). `containerd` is the version found on the node, if any.
 */
/**
 * `imported`: runtimes the file's `imports` declare (node install writes a drop-in), by name;
 * they count as ours when their runtime_type says so, whatever table they sit in.
 */
export function checkContainerdConfig(doc: Table, file: string, cfg: Pick<Config, 'annotationKey'>, containerd?: ContainerdVersion, imported: Table = {}): Finding[] {
  const f: Finding[] = [];
  const form: ConfigForm = Number(doc.version ?? 1) >= 3 ? 3 : 2;
  const plugins = table(doc.plugins);
  const v2 = table(table(table(plugins['io.containerd.grpc.v1.cri']).containerd).runtimes);
  const v3 = table(table(table(plugins['io.containerd.cri.v1.runtime']).containerd).runtimes);
  if (containerd && formFor(containerd) === 2 && form === 3) {
    f.push({ check: 'containerd config', ok: false, severity: 'error', detail: `${file} is config version 3, which containerd ${containerd.text} cannot read`, fix: `write it in version 2:\n${containerdSnippet(cfg, 2, containerd.text)}` });
  }
  if (form === 3 && ourRuntimes(v2).length > 0) {
    const names = ourRuntimes(v2).map(([n]) => n).join(', ');
    f.push({ check: 'containerd config', ok: false, severity: 'error', detail: `${file} is config version 3 but declares ${names} under the version-2 table [${V2_RUNTIMES}], which containerd 2.x does not read there`, fix: `move it under [${V3_RUNTIMES}.${names.split(', ')[0]}]` });
  }
  const ours = [...ourRuntimes(form === 3 ? v3 : v2), ...ourRuntimes(imported)];
  if (ours.length === 0) {
    const want = containerd ? formFor(containerd) : form;
    f.push({ check: 'containerd config', ok: false, severity: 'error', detail: `${file} has no CRI runtime with runtime_type = "${RUNTIME_TYPE}" under [${runtimesTable(form)}]`, fix: `add:\n${containerdSnippet(cfg, want, containerd?.text)}` });
  }
  for (const [name, v] of ours) {
    const check = `containerd runtime ${name}`;
    const sb = checkSandboxer(check, v, form, containerd);
    f.push(...sb.findings);
    const pa = Array.isArray(v.pod_annotations) ? (v.pod_annotations as unknown[]).filter((p): p is string => typeof p === 'string') : [];
    if (!pa.some((p) => covers(p, cfg.annotationKey))) {
      f.push({ check, ok: false, severity: 'error', detail: `pod_annotations ${JSON.stringify(pa)} does not cover ${cfg.annotationKey}: every pod will get the default runtime`, fix: `set pod_annotations = ["${cfg.annotationKey}"] under [${runtimesTable(form)}.${name}] and restart containerd` });
    } else if (pa.some((p) => covers(p, 'io.kubernetes.cri.sandbox-namespace'))) {
      f.push({ check, ok: false, severity: 'error', detail: `pod_annotations ${JSON.stringify(pa)} lets pods set io.kubernetes.cri.* annotations, which policy trusts`, fix: `list only ${cfg.annotationKey} in pod_annotations` });
    } else {
      f.push({ check, ok: true, severity: 'info', detail: `pod_annotations covers ${cfg.annotationKey} (config version ${form}; ${sb.mode})` });
    }
  }
  return f;
}

/**
 * What a handler's `sandboxer` means on this containerd: podsandbox (a pause container per
 * pod, through the Task API) or shim (the pod through our Sandbox API); and what is wrong.
 */
function checkSandboxer(check: string, handler: Table, form: ConfigForm, containerd?: ContainerdVersion): { mode: string; findings: Finding[] } {
  const { sandboxer } = handler;
  const pause = 'sandboxer podsandbox: a pause container per pod';
  if (sandboxer === undefined || sandboxer === 'podsandbox') return { mode: pause, findings: [] };
  if (sandboxer !== 'shim') {
    return { mode: pause, findings: [{ check, ok: false, severity: 'error', detail: `sandboxer ${JSON.stringify(sandboxer)} is neither "podsandbox" nor "shim"`, fix: 'set sandboxer = "shim" (pods through the Sandbox API) or remove it' }] };
  }
  if ((containerd && containerd.major < 2) || form === 2) {
    return { mode: pause, findings: [{ check, ok: false, severity: 'error', detail: 'sandboxer = "shim" needs containerd 2.x and config version 3; containerd 1.x ignores it and runs pause containers', fix: 'remove sandboxer, or upgrade containerd' }] };
  }
  const mode = 'sandboxer shim: pods without a pause container, through Switchyard\'s Sandbox API';
  const findings: Finding[] = [];
  if (!containerd) {
    findings.push({ check, ok: true, severity: 'info', detail: 'containerd 2.0-2.2 panic on a hostNetwork pod of a sandboxer = "shim" handler (fixed in 2.3): run those pods on another handler' });
  } else if (hostNetworkPanics(containerd)) {
    findings.push({ check, ok: false, severity: 'warning', detail: `containerd ${containerd.text} panics on a hostNetwork pod of a sandboxer = "shim" handler (fixed in 2.3)`, fix: 'run hostNetwork pods on a handler without sandboxer (the "switchyard" one)' });
  }
  // containerd's client reads a sandboxed task's options as runc's to add the Task API
  // address; ours (ConfigPath, or the table passed whole) fail that on every StartContainer.
  if (handler.options !== undefined && (!containerd || rejectsSandboxOptions(containerd))) {
    findings.push({
      check,
      ok: false,
      severity: containerd ? 'error' : 'warning',
      detail: `${containerd ? `containerd ${containerd.text} fails` : 'containerd 2.0 to 2.3.0 fail'} every StartContainer of a sandboxer = "shim" handler that has an options table ("can't unmarshal type runtimeoptions.v1.Options"; fixed in 2.3.1)`,
      fix: 'remove its options table (the handler then uses the default Switchyard config), or upgrade containerd to 2.3.1 or later',
    });
  }
  return { mode, findings };
}

/** containerd 2.0.0 to 2.3.0: a sandboxed task's runtime options must be runc's. */
export function rejectsSandboxOptions(v: ContainerdVersion): boolean {
  const patch = Number(/^\d+\.\d+\.(\d+)/.exec(v.text)?.[1] ?? 0);
  return v.major === 2 && (v.minor < 3 || (v.minor === 3 && patch === 0));
}

/** The typed config: what the rest of Switchyard trusts once config.ts has validated a file. */

/** How tasks share daemons: one per containerd namespace, or one per pod (sandbox). */
export type Grouping = 'namespace' | 'pod';
export type Protocol = 'ttrpc' | 'grpc';
/** Which bootstrap `start` answers with: found from the containerd that runs it, or fixed. */
export type BootstrapSetting = 'auto' | 2 | 3;

/** Which runc-compatible CLI a binary is: decides the flags the OCI driver may pass. */
export type OciFlavour = 'runc' | 'crun' | 'runsc';
export const OCI_FLAVOURS: readonly OciFlavour[] = ['runc', 'crun', 'runsc'];

/** A runtime driven through a runc-compatible command line. */
export interface OciRuntimeConfig {
  name: string;
  type: 'oci';
  /** A command name looked up on PATH, or an absolute path. */
  binary: string;
  /** The runtime's --root; the containerd namespace is appended. */
  root: string;
  flavour: OciFlavour;
  /** Extra global flags, after --root/--log (e.g. runsc's `--platform=kvm`). */
  args: string[];
  /** runsc only: its flags by name (`[runtimes.NAME.runsc_config]`, as gVisor's runsc.toml), passed after args. */
  runscConfig?: Record<string, string>;
}

/** A runtime that already is a shim v2 (Kata's): Switchyard forwards the Task API to it. */
export interface ShimRuntimeConfig {
  name: string;
  type: 'shim';
  binary: string;
  /** Handed to the delegate shim as its runtime options. */
  options?: Record<string, unknown>;
}

export type RuntimeConfig = OciRuntimeConfig | ShimRuntimeConfig;

export interface PolicyRule {
  /** `name` from the file, else the namespace patterns joined by commas. */
  name: string;
  /** Kubernetes namespaces (globs: `*`, `?`) whose pods this rule governs. */
  namespaces: string[];
  /** containerd namespaces (globs) whose bare tasks (no CRI annotations) this rule governs. */
  containerdNamespaces: string[];
  /** Runtimes a pod may ask for; undefined means every configured runtime. */
  allow?: string[];
  /** The runtime when the pod asks for none; undefined means the node's defaultRuntime. */
  default?: string;
  /** Overrides policy.hardenOnly for this rule. */
  hardenOnly?: boolean;
  /** Line of the rule in the config file, for messages; 0 for built-in rules. */
  line: number;
}

export interface Policy {
  /** Isolation tiers, weakest first; runtimes within one tier are equally strong. */
  isolation: string[][];
  /** A pod may ask only for a runtime at least as strong as its rule's default. */
  hardenOnly: boolean;
  /** First match wins; with no match, every runtime is allowed (an implicit `*` rule). */
  rules: PolicyRule[];
}

export interface Config {
  /** Where it came from, for error messages and `switchyard doctor`. */
  source: string;
  protocol: Protocol;
  /** `bootstrap_version`: "auto" (from containerd's version), 2 (plain address / JSON v2) or 3. */
  bootstrapVersion: BootstrapSetting;
  grouping: Grouping;
  /** How long a daemon with no tasks stays warm before it exits. */
  idleTimeoutMs: number;
  /** Daemon state: pid, log, decision records; default home of the runtimes' roots. */
  stateDir: string;
  /** The root of the `runc` runtime (legacy key; `[runtimes.runc] root` wins). */
  runtimeRoot: string;
  /** Time limit for each OCI runtime CLI call. */
  runtimeTimeoutMs: number;
  logLevel: string;
  /** Where the daemon serves Prometheus metrics: "unix:///path" or a loopback "127.0.0.1:PORT"; unset = off. */
  metricsAddress?: string;
  /** Every runtime by name: the predefined runc, crun, runsc, as overridden or extended. */
  runtimes: Record<string, RuntimeConfig>;
  /** The runtime of a task that asks for none and whose rule names no default. */
  defaultRuntime: string;
  /** The pod annotation that asks for a runtime. */
  annotationKey: string;
  policy: Policy;
}

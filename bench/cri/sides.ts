/**
 * What the CRI section compares: a list of sides, each a RuntimeClass handler (a containerd
 * runtime entry) and the pod annotations a pod of that side carries. Adding a way to run
 * pods — Switchyard behind `sandboxer = "shim"`, a crun route, a delegate — is one more
 * entry in CRI_SIDES, not new code: every row is measured for every side selected.
 *
 * Every Switchyard side but a sandbox one also gets a "cold twin": the same runtime entry
 * under the handler `<handler>-cold`, with a config of its own whose idle_timeout is short. A handler with
 * its own config path gets its own daemon (src/shim/paths.ts), so the cold row waits for
 * that daemon to idle out without making the other rows pay a daemon start.
 */
import { RUNC_HANDLER, SWITCHYARD_HANDLER, switchyardHandler, type CriRuntimeHandler } from '../../test/e2e/lib/cri-env.js';
import type { NamespaceOption } from '../../test/e2e/lib/cri.js';
import { SANDBOX_HANDLER, sandboxHandler } from '../../test/e2e/lib/cri-sandbox.js';
import type { ShimKind } from '../lib/procs.js';

export interface CriSide {
  /** Column label, and the name BENCH_CRI_SIDES selects it by. */
  name: string;
  /** The RuntimeClass handler pods of this side name. */
  handler: string;
  /**
   * The containerd runtime entry of `handler`; undefined for the stock `runc` handler and
   * for the harness's default `switchyard` handler (switchyardHandler()).
   */
  runtime?: CriRuntimeHandler;
  /** Pod annotations (e.g. the Switchyard runtime a pod asks for). */
  annotations?: Record<string, string>;
  /** Whose processes are this side's shims, for the memory rows. */
  shim: ShimKind;
  /**
   * The pod's namespaces (default: a host-network pod, as kubelet's hostNetwork). A side
   * with network POD gets a CNI network (cni.ts) before any pod starts.
   */
  namespaces?: NamespaceOption;
  /** Needs real gVisor (runsc): its sandbox processes are reported beside the shims. */
  gvisor?: boolean;
}

const POD_NETWORK: NamespaceOption = { network: 'POD', pid: 'CONTAINER', ipc: 'POD' };

/** The side every ratio is taken against. */
export const BASELINE = 'runc-v2';

export const CRI_SIDES: readonly CriSide[] = [
  { name: BASELINE, handler: RUNC_HANDLER, shim: 'runc-v2' },
  { name: 'switchyard', handler: SWITCHYARD_HANDLER, shim: 'switchyard' },
  // A pod that asks Switchyard for gVisor: same handler and daemon, another runtime.
  { name: 'sy-runsc', handler: SWITCHYARD_HANDLER, shim: 'switchyard', annotations: { 'switchyard.dev/runtime': 'runsc' }, gvisor: true },
  // Pods with a network namespace of their own (CNI ptp), the only kind a `sandboxer =
  // "shim"` handler can run on containerd 2.1.9 (a host-network pod there panics it): the
  // sandbox side is compared with runc-v2 on the same network as well as with the baseline.
  { name: 'runc-v2-net', handler: RUNC_HANDLER, shim: 'runc-v2', namespaces: POD_NETWORK },
  { name: 'sy-sandbox', handler: SANDBOX_HANDLER, shim: 'switchyard', runtime: sandboxHandler(), namespaces: POD_NETWORK },
];

/** The sides BENCH_CRI_SIDES names (comma-separated; default all), baseline first. */
export function selectSides(env: NodeJS.ProcessEnv = process.env): CriSide[] {
  const want = (env.BENCH_CRI_SIDES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of want) {
    if (!CRI_SIDES.some((s) => s.name === w)) throw new Error(`BENCH_CRI_SIDES: unknown side ${w} (known: ${CRI_SIDES.map((s) => s.name).join(', ')})`);
  }
  const picked = CRI_SIDES.filter((s) => s.name === BASELINE || !want.length || want.includes(s.name));
  return picked;
}

/** A side whose pods go through the Sandbox API (`sandboxer = "shim"`). */
export const isSandboxSide = (side: CriSide): boolean => side.runtime?.settings?.sandboxer === 'shim';

/**
 * The handler of a side's cold twin (Switchyard sides only). A sandbox side has none: the
 * twin's own config reaches the shim as runtime options (ConfigPath), and containerd 2.0 to
 * 2.3.0 fail every StartContainer of a `sandboxer = "shim"` handler whose options are not
 * runc's (fixed in 2.3.1). Its cold row waits for the daemon it shares to idle out instead.
 */
export const coldHandler = (side: CriSide): string | undefined => (side.shim === 'switchyard' && !isSandboxSide(side) ? `${side.handler}-cold` : undefined);

/**
 * The runtime entries containerd needs for `sides`: each side's own (unless it is a stock
 * or harness default one) and each Switchyard side's cold twin, whose config is the main
 * Switchyard config (`toml`) with a short idle_timeout.
 */
export function handlersFor(sides: readonly CriSide[], toml: string, coldIdle: string): Record<string, CriRuntimeHandler> {
  const out: Record<string, CriRuntimeHandler> = {};
  for (const s of sides) {
    if (s.runtime) out[s.handler] = s.runtime;
    const cold = coldHandler(s);
    if (cold) {
      const base = s.runtime ?? switchyardHandler();
      out[cold] = { ...base, switchyardConfig: { ...(base.switchyardConfig ?? {}), idle_timeout: coldIdle }, switchyardToml: (base.switchyardToml ?? '') + toml };
    }
  }
  return out;
}

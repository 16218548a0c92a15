/**
 * The daemon's runtime drivers: one OciDriver per configured runtime of type "oci", made
 * when a task first needs it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { OciRuntimeConfig } from '../config/types.js';
import { runtimeFlags } from '../config/runtimes.js';
import type { RuntimeOverrides } from '../task/runc-options.js';
import type { RuntimeDriver } from '../backends/types.js';
import { OciDriver, type DaemonChildren } from '../backends/oci/driver.js';
import { cgroupMounts, detectCgroupMode } from '../cgroups/index.js';

export class Drivers {
  private readonly drivers = new Map<string, RuntimeDriver>();
  private hybridV2: string | undefined | null = null;

  constructor(
    private readonly cfg: Config,
    private readonly namespace: string,
    private readonly log: Logger,
    private readonly children?: DaemonChildren,
  ) {}

  /**
   * The driver of runtime `name`; a task whose runc options change runc's command line
   * (binary, root, systemd cgroups, criu) gets a driver of its own for that line, as runc-v2
   * runs each task with its own options. runsc takes no runc options: they are not its.
   */
  driver(name: string, rt: OciRuntimeConfig, overrides: RuntimeOverrides = {}): RuntimeDriver {
    const o = rt.flavour === 'runsc' ? {} : overrides;
    const key = Object.keys(o).length === 0 ? name : `${name}\0${JSON.stringify(o)}`;
    let d = this.drivers.get(key);
    if (d) return d;
    const extra = runtimeFlags(rt);
    d = new OciDriver({
      name,
      binary: o.binary ?? rt.binary,
      root: o.root ?? rt.root,
      namespace: this.namespace,
      timeoutMs: this.cfg.runtimeTimeoutMs,
      flavour: rt.flavour,
      systemdCgroup: o.systemdCgroup,
      // --criu is runc's global flag; crun has none.
      extraArgs: o.criuPath && rt.flavour === 'runc' ? [...extra, '--criu', o.criuPath] : extra,
      hybridV2Mount: rt.flavour === 'crun' ? this.hybridV2Mount() : undefined,
      children: this.children,
    });
    this.drivers.set(key, d);
    return d;
  }

  /** The v2 mount of a hybrid host when it carries controllers (crun 1.8 refuses those). */
  private hybridV2Mount(): string | undefined {
    if (this.hybridV2 !== null) return this.hybridV2;
    this.hybridV2 = undefined;
    try {
      if (detectCgroupMode() === 'hybrid') {
        const v2 = cgroupMounts().find((m) => m.version === 2);
        const controllers = v2 ? fs.readFileSync(path.join(v2.mountPoint, 'cgroup.controllers'), 'utf8').trim() : '';
        if (v2 && controllers) this.hybridV2 = v2.mountPoint;
      }
    } catch (err) {
      this.log.warn({ err }, 'cannot read the cgroup layout');
    }
    return this.hybridV2;
  }
}

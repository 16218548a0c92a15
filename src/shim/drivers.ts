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
import type { RuntimeDriver } from '../backends/types.js';
import { OciDriver } from '../backends/oci/driver.js';
import { cgroupMounts, detectCgroupMode } from '../cgroups/index.js';

export class Drivers {
  private readonly drivers = new Map<string, RuntimeDriver>();
  private hybridV2: string | undefined | null = null;

  constructor(
    private readonly cfg: Config,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {}

  driver(name: string, rt: OciRuntimeConfig): RuntimeDriver {
    let d = this.drivers.get(name);
    if (d) return d;
    d = new OciDriver({
      name,
      binary: rt.binary,
      root: rt.root,
      namespace: this.namespace,
      timeoutMs: this.cfg.runtimeTimeoutMs,
      flavour: rt.flavour,
      extraArgs: runtimeFlags(rt),
      hybridV2Mount: rt.flavour === 'crun' ? this.hybridV2Mount() : undefined,
    });
    this.drivers.set(name, d);
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

/**
 * containerd 2.x creates a pod's later containers on the pod's shim connection without
 * running `start` (bootstrap version 3), so nothing of ours writes `<bundle>/address` for
 * them; 2.x keeps its own bootstrap.json instead. containerd 1.7 and 1.6 read only
 * `address` when they load running tasks, so after a node is taken back from 2.x to 1.7
 * such a task would be cleaned up as dead. The daemon therefore writes the version-2
 * answer into every bundle it creates a task in, where `start` did not already.
 */
import fs from 'node:fs';
import path from 'node:path';

interface CreatesInBundles {
  Create(req: { bundle?: string }, ...rest: never[]): Promise<unknown>;
}

/** `service` with a Create that leaves `<bundle>/address` behind (for the transports' tables). */
export function recordingBundleAddress<S extends CreatesInBundles>(service: S, address: string, onError: (err: unknown) => void): S {
  const create = async (req: { bundle?: string }, ...rest: never[]) => {
    const res = await service.Create(req, ...rest);
    if (req.bundle) {
      try {
        // wx: an address `start` wrote is the truth and stays.
        fs.writeFileSync(path.join(req.bundle, 'address'), address, { flag: 'wx', mode: 0o644 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') onError(err);
      }
    }
    return res;
  };
  return new Proxy(service, {
    get(target, prop, receiver) {
      if (prop === 'Create') return create;
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** Which containerd the node runs, from what is on its disk (or --flavour), and its plan. */
import { invalidArgument } from '../errors/index.js';
import { planContainerd } from './flavour-containerd.js';
import { planK0s } from './flavour-k0s.js';
import { planK3s, rancherDir } from './flavour-k3s.js';
import type { Host, Plan, PlanOptions } from './plan.js';

export const FLAVOURS = ['containerd', 'k0s', 'k3s', 'rke2'] as const;
export type Flavour = (typeof FLAVOURS)[number];

export function parseFlavour(s: string): Flavour {
  if ((FLAVOURS as readonly string[]).includes(s)) return s as Flavour;
  throw invalidArgument(`--flavour ${JSON.stringify(s)}: expected one of ${FLAVOURS.join(', ')}`);
}

/** k3s and RKE2 by their agent's containerd directory, k0s by /etc/k0s; else plain containerd. */
export function detectFlavour(host: Host): Flavour {
  if (host.exists(rancherDir('k3s'))) return 'k3s';
  if (host.exists(rancherDir('rke2'))) return 'rke2';
  if (host.exists('/etc/k0s')) return 'k0s';
  return 'containerd';
}

export function planFor(flavour: Flavour, host: Host, o: PlanOptions): Plan {
  switch (flavour) {
    case 'containerd':
      return planContainerd(host, o);
    case 'k0s':
      return planK0s(host, o);
    case 'k3s':
    case 'rke2':
      return planK3s(host, o, flavour);
  }
}

/** Distributions and round order for the CRI section. */
import { mean, pct } from '../lib/stats.js';

export interface Dist {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  samples: number[];
}

export const dist = (xs: number[]): Dist => ({
  n: xs.length,
  p50: pct(xs, 50),
  p90: pct(xs, 90),
  p99: pct(xs, 99),
  mean: mean(xs),
  samples: xs.map((x) => Math.round(x * 1000) / 1000),
});

/**
 * The order of the sides in round r: rotated by r, and reversed every other full turn,
 * so that each side goes first, last and after each other side equally often over the
 * run (ABBA for two sides), and drift on a shared machine hits them all alike.
 */
export function rotation<T>(r: number, xs: readonly T[]): T[] {
  const n = xs.length;
  if (!n) return [];
  const k = r % n;
  const out = [...xs.slice(k), ...xs.slice(0, k)];
  return Math.floor(r / n) % 2 ? out.reverse() : out;
}

/** Percentiles and small helpers shared by the benchmarks. */

/** Nearest-rank percentile (p in 0..100) of xs; NaN for an empty list. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Milliseconds since `t0` (a process.hrtime.bigint() value). */
export const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A positive integer from the environment, or `dflt`. */
export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** ABBA order for round r: both sides go first equally often, so drift hits both alike. */
export function order<T>(r: number, a: T, b: T): [T, T] {
  return r % 4 === 0 || r % 4 === 3 ? [a, b] : [b, a];
}

// Summary statistics of latency samples (milliseconds). Pure: no clock, no I/O.

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

/**
 * The q-quantile by the nearest-rank method (q in [0, 1]): the smallest sample with at least
 * q·n samples at or below it. Nearest rank never invents a value between two samples, which
 * keeps a p90 of 50 process runs an actual run.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of no samples');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile ${q} is outside [0, 1]`);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** The median as the mean of the two middle samples for an even count (the usual definition). */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) throw new Error('median of no samples');
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: median(sorted),
    p90: quantile(sorted, 0.9),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

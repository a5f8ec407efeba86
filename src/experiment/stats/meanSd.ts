/**
 * The one mean and sample standard deviation of the code base: compare.ts, warnings.ts and the
 * per-arm summaries (store/results.ts, through meanStd) all take theirs from here.
 */

/** Mean and sample standard deviation (n - 1), of `n` values. */
export interface MeanSd {
  readonly mean: number;
  /** NaN below 2 values: one value says nothing of the spread. */
  readonly sd: number;
  readonly n: number;
}

/** Mean (NaN of none) and sample SD (NaN below 2 values) of `xs`. */
export function meanSd(xs: readonly number[]): MeanSd {
  const n = xs.length;
  const mean = n === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : Number.NaN;
  return { mean, sd, n };
}

/** Mean and sample standard deviation as results.json's summaries hold them (format mixstream-ablation/1): SD 0 for a single value. */
export interface MeanStd {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** meanSd in results.json's shape (see MeanStd). */
export function meanStd(values: readonly number[]): MeanStd {
  const { mean, sd, n } = meanSd(values);
  return { mean, std: n === 1 ? 0 : sd, n };
}

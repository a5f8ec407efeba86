/**
 * Paired tests on integer counts of correctly classified images: one count per (arm, seed) on the
 * same test images, differences arm - reference in images. Integers compare exactly, so ties in the
 * sign-flip test are ties (float32 accuracies made equal counts unequal: issue 20, item 1), and the
 * permutation distribution of the sum is computed exactly for any number of seeds, by counting
 * sign assignments per value of the sum (no 2^n enumeration, no Monte-Carlo).
 *
 * Pure functions: phase 2 feeds them the counts kept beside each run's accuracies.
 */
import { tQuantile } from './tdist.js';

const quantiles = new Map<string, number>();
/** tQuantile, remembered: simulations ask for the same few (p, df) again and again. */
export function tQuantileCached(p: number, df: number): number {
  const key = `${p} ${df}`;
  let q = quantiles.get(key);
  if (q === undefined) {
    q = tQuantile(p, df);
    if (quantiles.size < 10000) quantiles.set(key, q);
  }
  return q;
}

/** Throws a RangeError naming `what` unless every value is a safe integer (>= 0 when `nonNegative`). */
function checkIntegers(values: readonly number[], what: string, nonNegative: boolean): void {
  for (const [i, v] of values.entries())
    if (!Number.isSafeInteger(v) || (nonNegative && v < 0))
      throw new RangeError(`${what}[${i}] must be ${nonNegative ? 'a non-negative' : 'an'} integer, got ${v}`);
}

/**
 * Per-seed differences arm - reference, in images, from correct-image counts paired by position
 * (the same seed at the same index). Throws a RangeError for non-integer or negative counts,
 * lengths that differ, or a count above `testImages` when given.
 */
export function countDifferences(arm: readonly number[], reference: readonly number[], testImages?: number): number[] {
  if (arm.length !== reference.length) throw new RangeError(`counts differ in length: ${arm.length} arm, ${reference.length} reference`);
  checkIntegers(arm, 'arm', true);
  checkIntegers(reference, 'reference', true);
  if (testImages !== undefined) {
    if (!Number.isSafeInteger(testImages) || testImages < 1)
      throw new RangeError(`testImages must be a positive integer, got ${testImages}`);
    for (const [i, v] of [...arm, ...reference].entries())
      if (v > testImages) throw new RangeError(`count ${v} (entry ${i}) is above the ${testImages} test images`);
  }
  return arm.map((a, i) => a - (reference[i] as number));
}

/** The exact permutation distribution of sum(s_i * d_i) over the 2^n equally likely sign vectors s in {-1, +1}^n. */
export interface SignFlipDistribution {
  /** Smallest value of the sum (-sum |d_i|). */
  readonly min: number;
  /** probability[k] = P(sum = min + k); multiples of 2^-n, exact in float64 while n <= 52. */
  readonly probability: Float64Array;
}

/**
 * The exact distribution of the sign-flipped sum of integer differences, by dynamic programming
 * over the sum: O(n * sum|d|) time. Zeros change nothing (both signs give the same sum).
 */
export function signFlipDistribution(differences: readonly number[]): SignFlipDistribution {
  checkIntegers(differences, 'differences', false);
  const total = differences.reduce((a, d) => a + Math.abs(d), 0);
  if (total > 50_000_000) throw new RangeError(`sum of |differences| ${total} is too large for the exact distribution`);
  let dist = new Float64Array(2 * total + 1);
  dist[total] = 1; // offset `total`: index k is sum k - total
  let reach = 0; // current sums lie in [-reach, reach]
  for (const d of differences) {
    const a = Math.abs(d);
    if (a === 0) continue;
    const next = new Float64Array(dist.length);
    for (let s = -reach; s <= reach; s++) {
      const p = dist[s + total] as number;
      if (p === 0) continue;
      next[s + a + total] = (next[s + a + total] as number) + p / 2;
      next[s - a + total] = (next[s - a + total] as number) + p / 2;
    }
    dist = next;
    reach += a;
  }
  return { min: -total, probability: dist };
}

/** An exact sign-flip test on integer differences. */
export interface CountSignFlip {
  readonly n: number;
  /** Seeds whose difference is exactly 0 (they count, and change nothing). */
  readonly zeros: number;
  /** Sum of the differences, in images. */
  readonly sum: number;
  /** Two-sided p: P(|S| >= |observed sum|) under the sign flips, exact. */
  readonly p: number;
  /** One-sided p for "arm better": P(S >= observed). */
  readonly pGreater: number;
  /** One-sided p for "arm worse": P(S <= observed). */
  readonly pLess: number;
  /** The smallest two-sided p these |differences| allow: 2 / 2^(nonzero differences), 1 when all are 0. */
  readonly pFloor: number;
  readonly method: string;
}

/**
 * Exact two-sided sign-flip permutation test of H0 "each seed's difference is symmetric about 0"
 * on integer differences (images). p counts every assignment whose |sum| ties or passes the
 * observed one, compared as integers: no tolerance, no float ties. Differences [4, 3, 4, -2, 2, 0,
 * 4, 2] give p = 0.0625 exactly. Throws a RangeError for non-integers.
 */
export function countSignFlip(differences: readonly number[]): CountSignFlip {
  const n = differences.length;
  const zeros = differences.filter((d) => d === 0).length;
  const sum = differences.reduce((a, b) => a + b, 0);
  const { min, probability } = signFlipDistribution(differences);
  let p = 0;
  let pGreater = 0;
  let pLess = 0;
  for (let k = 0; k < probability.length; k++) {
    const pr = probability[k] as number;
    if (pr === 0) continue;
    const s = min + k;
    if (Math.abs(s) >= Math.abs(sum)) p += pr;
    if (s >= sum) pGreater += pr;
    if (s <= sum) pLess += pr;
  }
  // P(|S| >= max|S|) = P(all signs one way) = 2 / 2^(nonzero), or 1 when every difference is 0.
  const nonzero = n - zeros;
  const pFloor = nonzero === 0 ? 1 : Math.min(1, 2 / 2 ** nonzero);
  return {
    n,
    zeros,
    sum,
    p: Math.min(1, p),
    pGreater: Math.min(1, pGreater),
    pLess: Math.min(1, pLess),
    pFloor,
    method: `exact sign-flip over all 2^${n} assignments, on integer image counts`,
  };
}

/** A Student t interval of the mean count difference, in images and in accuracy points. */
export interface CountInterval {
  readonly n: number;
  readonly level: number;
  /** Mean difference in images and its sample SD (n - 1). */
  readonly meanImages: number;
  readonly sdImages: number;
  /** The interval in images; null below 2 seeds. */
  readonly images: readonly [number, number] | null;
  /** Mean and interval in accuracy points: 100 * images / testImages. */
  readonly meanPoints: number;
  readonly points: readonly [number, number] | null;
  /** One test image, in accuracy points. */
  readonly pointsPerImage: number;
}

/**
 * The two-sided `level` (default 0.95) Student t interval of the mean per-seed difference in images,
 * and the same in accuracy points (100 / testImages points per image). It assumes normal per-seed
 * differences and treats the test images as fixed (see images.ts for the images' share).
 */
export function countInterval(differences: readonly number[], testImages: number, level = 0.95): CountInterval {
  checkIntegers(differences, 'differences', false);
  if (!Number.isSafeInteger(testImages) || testImages < 1) throw new RangeError(`testImages must be a positive integer, got ${testImages}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const n = differences.length;
  const meanImages = n === 0 ? Number.NaN : differences.reduce((a, b) => a + b, 0) / n;
  const sdImages = n > 1 ? Math.sqrt(differences.reduce((a, d) => a + (d - meanImages) ** 2, 0) / (n - 1)) : Number.NaN;
  const perImage = 100 / testImages;
  let images: [number, number] | null = null;
  if (n > 1) {
    const half = (tQuantileCached(1 - (1 - level) / 2, n - 1) * sdImages) / Math.sqrt(n);
    images = [meanImages - half, meanImages + half];
  }
  return {
    n,
    level,
    meanImages,
    sdImages,
    images,
    meanPoints: meanImages * perImage,
    points: images && [images[0] * perImage, images[1] * perImage],
    pointsPerImage: perImage,
  };
}

/**
 * The two-sided p of the sign-flip test of "the differences are symmetric about `shift`", for
 * shift = k / q (k, q integers): the shifted differences scaled by q are integers, so the test is
 * still exact.
 */
export function shiftedSignFlipP(differences: readonly number[], k: number, q: number): number {
  return countSignFlip(differences.map((d) => q * d - k)).p;
}

/** An interval from inverting the exact sign-flip test. */
export interface SignFlipInterval {
  readonly level: number;
  /** Grid step of the shifts tried, in images. */
  readonly step: number;
  /** Smallest and largest shift (images) the test does not reject at 1 - level; null when every shift in range is accepted (too few seeds: the floor 2/2^n is above 1 - level). */
  readonly images: readonly [number, number] | null;
  readonly points: readonly [number, number] | null;
}

/**
 * The exact (distribution-free) interval that goes with the exact test: every shift theta, on a grid
 * of `step` images (default 1/4), for which the two-sided sign-flip test of "differences symmetric
 * about theta" has p > 1 - level; reported as the smallest and largest such shift. Its coverage is
 * at least `level` whenever the differences are symmetric about a grid point (the test's own
 * assumption), where the t interval's may fall short on few, discrete differences (8 seeds of
 * -3..+3 images: 94.2%). Null when no shift can be rejected (2 / 2^n > 1 - level).
 */
export function signFlipInterval(differences: readonly number[], testImages: number, level = 0.95, step = 0.25): SignFlipInterval {
  checkIntegers(differences, 'differences', false);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const q = Math.round(1 / step);
  if (!(q >= 1 && Math.abs(q * step - 1) < 1e-12)) throw new RangeError(`step must be 1/q for an integer q >= 1, got ${step}`);
  const n = differences.length;
  const alpha = 1 - level;
  if (n === 0 || 2 / 2 ** n > alpha) return { level, step, images: null, points: null };
  // Outside [min, max] every shifted difference has one sign: p = 2/2^n <= alpha, rejected.
  const lo = Math.min(...differences) * q;
  const hi = Math.max(...differences) * q;
  let first: number | undefined;
  let last: number | undefined;
  for (let k = lo; k <= hi; k++) {
    if (shiftedSignFlipP(differences, k, q) > alpha) {
      first ??= k;
      last = k;
    }
  }
  if (first === undefined || last === undefined) return { level, step, images: null, points: null };
  const images: [number, number] = [first / q, last / q];
  return { level, step, images, points: [(images[0] * 100) / testImages, (images[1] * 100) / testImages] };
}

export type CountVerdict = 'better' | 'worse' | 'inconclusive';

/** The exact test, the interval and a verdict for one arm against its reference. */
export interface PairedCounts {
  readonly differences: readonly number[];
  readonly test: CountSignFlip;
  readonly interval: CountInterval;
  /** The interval that goes with the exact test (see signFlipInterval): it excludes 0 when the exact p is <= 1 - level. */
  readonly exactInterval: SignFlipInterval;
  /** The p the verdict compares with alpha: `test.p`, or the Holm-adjusted p when given. */
  readonly pUsed: number;
  readonly verdict: CountVerdict;
  readonly reason: string;
}

/**
 * Paired comparison on correct-image counts: arm[i] and reference[i] are the counts of the same
 * seed on the same `testImages` images. The verdict uses the exact sign-flip p (or `pAdjusted`, the
 * family's Holm-adjusted p for this contrast, when given) against `alpha` (default 0.05); its
 * direction is the sign of the summed difference. Two intervals: the t interval (assumes normal
 * differences) and the exact sign-flip interval (assumes symmetry only, as the test does).
 */
export function pairedCounts(
  arm: readonly number[],
  reference: readonly number[],
  testImages: number,
  options: { readonly alpha?: number; readonly pAdjusted?: number; readonly level?: number } = {},
): PairedCounts {
  const { alpha = 0.05, level = 0.95 } = options;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const differences = countDifferences(arm, reference, testImages);
  const test = countSignFlip(differences);
  const interval = countInterval(differences, testImages, level);
  const exactInterval = signFlipInterval(differences, testImages, level);
  const pUsed = options.pAdjusted ?? test.p;
  const fmt = (p: number): string => String(Number(p.toPrecision(3)));
  let verdict: CountVerdict = 'inconclusive';
  let reason: string;
  if (differences.length === 0) reason = 'no seed was run by both arms';
  else if (test.sum === 0) reason = `the differences sum to 0 images (p = ${fmt(test.p)})`;
  else if (pUsed > alpha)
    reason = `exact p = ${fmt(test.p)}${options.pAdjusted === undefined ? '' : `, adjusted ${fmt(pUsed)}`} > ${alpha}${test.pFloor > alpha ? ` (with these seeds p cannot go below ${fmt(test.pFloor)})` : ''}`;
  else {
    verdict = test.sum > 0 ? 'better' : 'worse';
    reason = `exact p = ${fmt(test.p)}${options.pAdjusted === undefined ? '' : `, adjusted ${fmt(pUsed)}`} <= ${alpha}`;
  }
  return { differences, test, interval, exactInterval, pUsed, verdict, reason };
}

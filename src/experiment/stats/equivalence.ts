/**
 * Equivalence: "no difference larger than D", by two one-sided tests (TOST, Schuirmann 1987). The
 * arm is "equivalent within D" of its reference when both H0: mean <= -D and H0: mean >= D are
 * rejected at alpha, which is the same as the whole (1 - 2 alpha) interval lying inside (-D, +D).
 * Otherwise the answer is "inconclusive", with the interval's width and what would narrow it: the
 * seeds (at the current test images) or the test images (at the current seeds) that would bring the
 * interval inside +-D if the estimate stayed where it is.
 *
 * Units: accuracy points throughout (margin, mean, standard errors).
 */
import { countInterval } from './counts.js';
import type { CrossedInterval, VarianceComponents } from './images.js';
import { tCdf, tQuantile } from './tdist.js';

/** A mean difference with its standard error and degrees of freedom, in points. */
export interface Estimate {
  readonly mean: number;
  readonly se: number;
  readonly df: number;
}

/**
 * Where the standard error comes from, for the "what would narrow it" part: per-seed differences
 * only (`sd` of the per-seed differences, points), or the crossed seeds x images components
 * (images.ts, squared fractions) with the current numbers of seeds and test images.
 */
export type Design =
  | { readonly kind: 'seeds'; readonly seeds: number; readonly sd: number }
  | { readonly kind: 'crossed'; readonly seeds: number; readonly images: number; readonly components: VarianceComponents };

export interface EquivalenceResult {
  readonly verdict: 'equivalent' | 'inconclusive';
  /** D, in points. */
  readonly margin: number;
  readonly alpha: number;
  /** 1 - 2 alpha: the interval's level. */
  readonly level: number;
  readonly mean: number;
  readonly interval: readonly [number, number];
  readonly width: number;
  /** One-sided p of H0: mean <= -D, and of H0: mean >= D; the TOST p is the larger. */
  readonly pLower: number;
  readonly pUpper: number;
  readonly p: number;
  /**
   * For an inconclusive answer: the half-width the interval would need (D - |mean|; null when the
   * estimate itself is at least D from 0), and the seeds (test images unchanged) or test images
   * (seeds unchanged) that would give it; null where that alone cannot.
   */
  readonly narrowing: {
    readonly halfWidthNeeded: number | null;
    readonly seeds: number | null;
    readonly images: number | null;
  } | null;
  readonly reason: string;
}

const fmt = (x: number): string => String(Number(x.toPrecision(3)));

/** Standard error (points) of a design with S seeds and T images. */
function seOf(design: Design, S: number, T: number): number {
  if (design.kind === 'seeds') return design.sd / Math.sqrt(S);
  const c = design.components;
  return 100 * Math.sqrt(c.seed / S + c.image / T + c.residual / (S * T));
}

/** Smallest n in [from, max] with ok(n), ok monotone; null when ok(max) fails. */
function smallest(from: number, max: number, ok: (n: number) => boolean): number | null {
  if (!ok(max)) return null;
  if (ok(from)) return from;
  let lo = from;
  let hi = max;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * TOST of |mean| < margin at `alpha` (default 0.05, so a 90% interval), from an estimate in points.
 * `design` (optional) lets an inconclusive answer say how many seeds or test images would narrow
 * the interval enough, keeping the estimate (df taken as seeds - 1 in that planning: conservative).
 */
export function tost(
  estimate: Estimate,
  margin: number,
  options: { readonly alpha?: number; readonly design?: Design; readonly maxSeeds?: number; readonly maxImages?: number } = {},
): EquivalenceResult {
  const { alpha = 0.05, maxSeeds = 10000, maxImages = 10_000_000 } = options;
  if (!(margin > 0 && Number.isFinite(margin))) throw new RangeError(`margin must be a number of points > 0, got ${margin}`);
  if (!(alpha > 0 && alpha < 0.5)) throw new RangeError(`alpha must be in (0, 0.5), got ${alpha}`);
  const { mean, se, df } = estimate;
  if (!(df > 0) || !(se >= 0) || !Number.isFinite(mean)) throw new RangeError(`estimate needs a finite mean, se >= 0 and df > 0`);
  const q = tQuantile(1 - alpha, df);
  const interval: [number, number] = [mean - q * se, mean + q * se];
  const width = interval[1] - interval[0];
  const pLower = se === 0 ? (mean > -margin ? 0 : 1) : 1 - tCdf((mean + margin) / se, df);
  const pUpper = se === 0 ? (mean < margin ? 0 : 1) : tCdf((mean - margin) / se, df);
  const p = Math.max(pLower, pUpper);
  const level = 1 - 2 * alpha;
  const inside = interval[0] > -margin && interval[1] < margin;
  const base = { margin, alpha, level, mean, interval, width, pLower, pUpper, p };
  const where = `${fmt(level * 100)}% interval [${fmt(interval[0])}, ${fmt(interval[1])}] points`;
  if (inside)
    return {
      ...base,
      verdict: 'equivalent',
      narrowing: null,
      reason: `equivalent within ${fmt(margin)} points: the ${where} lies inside +-${fmt(margin)} (TOST p = ${fmt(p)})`,
    };
  const halfWidthNeeded = margin - Math.abs(mean) > 0 ? margin - Math.abs(mean) : null;
  let seeds: number | null = null;
  let images: number | null = null;
  const design = options.design;
  if (halfWidthNeeded !== null && design) {
    const S = design.seeds;
    const T = design.kind === 'crossed' ? design.images : 1;
    const fits = (s: number, t: number): boolean => tQuantile(1 - alpha, Math.max(1, s - 1)) * seOf(design, s, t) < halfWidthNeeded;
    seeds = smallest(Math.max(2, S), maxSeeds, (s) => fits(s, T));
    if (design.kind === 'crossed' && S >= 2) images = smallest(T, maxImages, (t) => fits(S, t));
  }
  const what =
    halfWidthNeeded === null
      ? `the estimate ${fmt(mean)} is itself at least ${fmt(margin)} points from 0: more data narrows the interval, not the estimate`
      : [
          `it would need a half-width under ${fmt(halfWidthNeeded)} points`,
          seeds !== null
            ? `about ${seeds} seeds at these test images`
            : design
              ? 'more seeds alone cannot do it (the test images bound it)'
              : '',
          images !== null
            ? `or about ${images} test images at these seeds`
            : design?.kind === 'crossed'
              ? 'more test images alone cannot do it'
              : '',
        ]
          .filter((x) => x.length > 0)
          .join(', ');
  return {
    ...base,
    verdict: 'inconclusive',
    narrowing: { halfWidthNeeded, seeds, images },
    reason: `not shown equivalent within ${fmt(margin)} points: the ${where} is ${fmt(width)} points wide and reaches past +-${fmt(margin)}; ${what}`,
  };
}

/** TOST from per-seed integer count differences on `testImages` images (per-seed t, df = n - 1); needs 2 seeds. */
export function tostCounts(
  differences: readonly number[],
  testImages: number,
  margin: number,
  options: { readonly alpha?: number } = {},
): EquivalenceResult {
  const c = countInterval(differences, testImages);
  if (c.n < 2) throw new RangeError('tostCounts: needs at least 2 seeds');
  const sd = c.sdImages * c.pointsPerImage;
  return tost({ mean: c.meanPoints, se: sd / Math.sqrt(c.n), df: c.n - 1 }, margin, {
    ...options,
    design: { kind: 'seeds', seeds: c.n, sd },
  });
}

/** TOST from the crossed seeds x images estimate (images.ts `crossedInterval`); what would narrow it counts seeds and test images. */
export function tostCrossed(crossed: CrossedInterval, margin: number, options: { readonly alpha?: number } = {}): EquivalenceResult {
  if (!Number.isFinite(crossed.se) || !(crossed.df > 0)) throw new RangeError('tostCrossed: needs at least 2 seeds and 2 test images');
  return tost({ mean: crossed.mean, se: crossed.se, df: crossed.df }, margin, {
    ...options,
    design: { kind: 'crossed', seeds: crossed.seeds, images: crossed.images, components: crossed.components },
  });
}

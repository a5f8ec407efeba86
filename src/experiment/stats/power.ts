/**
 * Power that matches the verdict: seeds needed and the detectable effect for a two-sided paired t
 * test at Holm's first-step level alpha / m (m = the number of contrasts in the family), computed
 * with the exact noncentral t power (not the normal or "t + t" shortcut), and with the uncertainty
 * of the standard deviation they rest on: a handful of seeds estimates sigma loosely, so the
 * chi-square interval for sigma is turned into a range of seeds.
 *
 * Planning at alpha / m is what Holm's first (strictest) step needs; later steps are easier, so the
 * numbers are what a contrast needs to pass whatever its rank.
 */
import { logGamma, tQuantile } from './tdist.js';

/** The regularized lower incomplete gamma function P(a, x), a > 0, x >= 0 (series / continued fraction, as in Numerical Recipes 6.2). */
export function incompleteGammaP(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`incompleteGammaP: a must be > 0, got ${a}`);
  if (!(x >= 0)) throw new RangeError(`incompleteGammaP: x must be >= 0, got ${x}`);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < 10000; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.min(1, front * sum);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.max(0, 1 - front * h);
}

/** P(X <= x) for X ~ chi-square with `df` degrees of freedom. */
export function chiSquareCdf(x: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`chiSquareCdf: df must be > 0, got ${df}`);
  return x <= 0 ? 0 : incompleteGammaP(df / 2, x / 2);
}

/** The p-quantile of chi-square with `df` degrees of freedom, p in (0, 1), by bisection: chiSquareQuantile(0.975, 9) = 19.023. */
export function chiSquareQuantile(p: number, df: number): number {
  const key = `${p} ${df}`;
  const known = chiQuantiles.get(key);
  if (known !== undefined) return known;
  const q = chiSquareQuantileUncached(p, df);
  if (chiQuantiles.size < 10000) chiQuantiles.set(key, q);
  return q;
}

const chiQuantiles = new Map<string, number>();

function chiSquareQuantileUncached(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`chiSquareQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`chiSquareQuantile: df must be > 0, got ${df}`);
  let lo = 0;
  let hi = Math.max(1, df);
  while (chiSquareCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (chiSquareCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The standard normal CDF, through the incomplete gamma function (erfc(z) = Q(1/2, z^2)): ~1e-15 absolute. */
export function normalCdf(x: number): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  if (x > 40) return 1;
  if (x < -40) return 0;
  const upperHalf = 0.5 * (1 - incompleteGammaP(0.5, (x * x) / 2)); // P(Z > |x|)
  return x >= 0 ? 1 - upperHalf : upperHalf;
}

/**
 * P(T > c) for T noncentral t with `df` degrees of freedom and noncentrality `delta`:
 * T = (Z + delta) / W, W = sqrt(chi2_df / df); integrates P(Z > c W - delta) over the density of W
 * (Simpson, 2000 panels over +-8 of sqrt(chi2_df), whose SD is ~0.71): ~1e-9 from 4 degrees of
 * freedom, ~1e-6 at 1.
 */
export function noncentralTSurvival(c: number, df: number, delta: number): number {
  if (!(df > 0)) throw new RangeError(`noncentralTSurvival: df must be > 0, got ${df}`);
  // Density of R = sqrt(chi2_df): r^(df-1) e^(-r^2/2) / (2^(df/2-1) Gamma(df/2)).
  const logNorm = (df / 2 - 1) * Math.LN2 + logGamma(df / 2);
  const center = Math.sqrt(Math.max(df - 0.5, 0.5));
  const lo = Math.max(0, center - 8);
  const hi = center + 8;
  const panels = 2000;
  const h = (hi - lo) / panels;
  const f = (r: number): number => {
    if (r <= 0) return df < 1 ? 0 : df === 1 ? Math.exp(-logNorm) * (1 - normalCdf(-delta)) : 0;
    const density = Math.exp((df - 1) * Math.log(r) - (r * r) / 2 - logNorm);
    return density * (1 - normalCdf((c * r) / Math.sqrt(df) - delta));
  };
  let sum = f(lo) + f(hi);
  for (let k = 1; k < panels; k++) sum += (k % 2 === 1 ? 4 : 2) * f(lo + k * h);
  return Math.min(1, Math.max(0, (sum * h) / 3));
}

/**
 * Power of the two-sided paired t test at level `alpha` with n seeds when the true mean difference
 * is `effect` and the SD of the per-seed differences is `sd` (same units): P(|T| > t_{1-alpha/2, n-1})
 * under noncentrality effect * sqrt(n) / sd. Exactly alpha at effect 0.
 */
export function pairedTPower(effect: number, sd: number, n: number, alpha = 0.05): number {
  if (!(n >= 2)) throw new RangeError(`pairedTPower: n must be >= 2, got ${n}`);
  if (!(sd > 0)) throw new RangeError(`pairedTPower: sd must be > 0, got ${sd}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`pairedTPower: alpha must be in (0, 1), got ${alpha}`);
  const df = n - 1;
  const c = tQuantile(1 - alpha / 2, df);
  const delta = (effect * Math.sqrt(n)) / sd;
  return noncentralTSurvival(c, df, delta) + noncentralTSurvival(c, df, -delta);
}

export interface PowerOptions {
  /** Family-wise two-sided level. Default 0.05. */
  readonly alpha?: number;
  /** Contrasts in the Holm family: the plan uses alpha / m. Default 1. */
  readonly family?: number;
  /** Target power. Default 0.8. */
  readonly power?: number;
  /** Most seeds considered. Default 10000. */
  readonly maxSeeds?: number;
}

function levels(options: PowerOptions): { a: number; target: number; maxSeeds: number } {
  const { alpha = 0.05, family = 1, power = 0.8, maxSeeds = 10000 } = options;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(Number.isInteger(family) && family >= 1)) throw new RangeError(`family must be an integer >= 1, got ${family}`);
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  return { a: alpha / family, target: power, maxSeeds };
}

/** The smallest n >= 2 whose paired t test at alpha / family has `power` for `effect` given `sd`; null past maxSeeds or for effect <= 0 or an unknown sd. */
export function seedsNeeded(effect: number, sd: number, options: PowerOptions = {}): number | null {
  const { a, target, maxSeeds } = levels(options);
  if (!(effect > 0) || !(sd > 0) || !Number.isFinite(sd)) return null;
  const ok = (n: number): boolean => pairedTPower(effect, sd, n, a) >= target;
  if (!ok(maxSeeds)) return null;
  let lo = 1;
  let hi = maxSeeds;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid >= 2 && ok(mid)) hi = mid;
    else lo = mid;
  }
  return Math.max(2, hi);
}

/** The smallest effect the paired t test at alpha / family detects with `power` at n seeds given `sd` (same units as sd); null below 2 seeds or an unknown sd. */
export function detectableEffect(sd: number, n: number, options: PowerOptions = {}): number | null {
  const { a, target } = levels(options);
  if (!(n >= 2) || !(sd > 0) || !Number.isFinite(sd)) return null;
  let lo = 0;
  let hi = sd;
  while (pairedTPower(hi, sd, n, a) < target) hi *= 2;
  for (let i = 0; i < 60 && hi - lo > 1e-10 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (pairedTPower(mid, sd, n, a) < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The `level` (default 0.8) chi-square interval for sigma from a sample SD of n values: sd * sqrt((n - 1) / chi2_{1-g/2, n-1}) to sd * sqrt((n - 1) / chi2_{g/2, n-1}). */
export function sdInterval(sd: number, n: number, level = 0.8): [number, number] {
  if (!(n >= 2)) throw new RangeError(`sdInterval: n must be >= 2, got ${n}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`sdInterval: level must be in (0, 1), got ${level}`);
  const g = 1 - level;
  return [sd * Math.sqrt((n - 1) / chiSquareQuantile(1 - g / 2, n - 1)), sd * Math.sqrt((n - 1) / chiSquareQuantile(g / 2, n - 1))];
}

/** Seeds needed and the detectable effect, each at the estimated SD and over the SD's interval. */
export interface SeedPlan {
  /** The per-contrast level the plan uses: alpha / family. */
  readonly alphaPerContrast: number;
  readonly power: number;
  /** The SD estimate, the seeds it came from, and its chi-square interval at `sdLevel`. */
  readonly sd: number;
  readonly n: number;
  readonly sdLevel: number;
  readonly sdRange: readonly [number, number];
  /** Seeds needed for `effect`: at the estimate, and at the low and high ends of the SD's interval (null: more than maxSeeds or no effect given). */
  readonly seeds: { readonly estimate: number | null; readonly low: number | null; readonly high: number | null };
  /** Effect detectable with the n seeds run: at the estimate and over the SD's interval. */
  readonly detectable: { readonly estimate: number | null; readonly low: number | null; readonly high: number | null };
  /** Seeds before the exact sign-flip test's floor 2 / 2^n can reach alpha / family. */
  readonly signFlipSeeds: number;
}

/**
 * The plan for one contrast: from the SD `sd` of n per-seed differences and the effect of interest
 * (same units), the seeds a paired t test at alpha / family needs for `power`, and the effect the
 * n seeds can detect, each with a range from the chi-square interval of sigma at `sdLevel`
 * (default 0.8). "Seeds 24 (16-41)" says more than "24": 5 seeds pin sigma down to a factor ~2.
 */
export function planSeeds(
  sd: number,
  n: number,
  effect: number | null,
  options: PowerOptions & { readonly sdLevel?: number } = {},
): SeedPlan {
  const { sdLevel = 0.8 } = options;
  const { a, target } = levels(options);
  const sdRange = sdInterval(sd, n, sdLevel);
  const need = (s: number): number | null => (effect === null ? null : seedsNeeded(effect, s, options));
  return {
    alphaPerContrast: a,
    power: target,
    sd,
    n,
    sdLevel,
    sdRange,
    seeds: { estimate: need(sd), low: need(sdRange[0]), high: need(sdRange[1]) },
    detectable: {
      estimate: detectableEffect(sd, n, options),
      low: detectableEffect(sdRange[0], n, options),
      high: detectableEffect(sdRange[1], n, options),
    },
    signFlipSeeds: Math.max(1, Math.ceil(Math.log2(2 / a) - 1e-12)),
  };
}

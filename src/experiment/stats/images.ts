/**
 * Uncertainty from the seeds and from the test images together. Each run keeps a bit per test image
 * (its final model got the image right); for seed s and image i, d[s][i] = arm bit - reference bit
 * is -1, 0 or +1. The seeds are a sample of training runs, and the T test images a sample of the
 * images the data set stands for; every seed is scored on the same images, so seeds and images are
 * crossed, not nested, and a difference that rides on which images happened to be drawn is shared by
 * every seed. An interval over seeds alone (the per-seed accuracy differences) cannot see that: it
 * answers "better on these images".
 *
 * Three tools:
 * - `crossedInterval`: the two-way random-effects (seeds x images) variance of the mean difference
 *   from the balanced ANOVA mean squares, Var = (MS_seeds + MS_images - MS_residual) / (S T)
 *   = sigma_seed^2 / S + sigma_image^2 / T + sigma_residual^2 / (S T), with a t interval and
 *   test on S - 1 degrees of freedom (conservative: in simulation the Satterthwaite df covered
 *   only 93.5% at 3 seeds; S - 1 kept >= 95% in every world tried). Deterministic, O(S T). The
 *   verdict should use this one.
 * - `crossedBootstrap`: the two-level paired bootstrap: each draw resamples the seeds and, once,
 *   the images (crossed: the same image draw for every seed), seeded with core/random.ts. A check on
 *   the analytic interval that assumes no normality; it is somewhat conservative (it counts the
 *   residual term about twice).
 * - `stratifiedMcNemar`: McNemar's test pooled over the seeds (the Cochran-Mantel-Haenszel test
 *   for matched pairs, exact binomial). It conditions on the trained models: its question is "do
 *   these S models differ on images like these", not "does the arm's training differ", and treats
 *   the same image in different seeds as independent; shown for reference, never for the verdict.
 *
 * All differences are reported in accuracy points (100 x fraction of images).
 */
import { rng } from '../../core/random.js';
import { tCdf, tQuantile } from './tdist.js';

/** One seed's per-image correctness on the test set: 1 (or true) when the final model got image i right. */
export interface SeedCorrectness {
  readonly arm: ArrayLike<number | boolean>;
  readonly reference: ArrayLike<number | boolean>;
}

/** The S x T matrix of differences arm - reference (-1, 0, +1), row-major by seed. */
export interface DifferenceMatrix {
  readonly seeds: number;
  readonly images: number;
  readonly d: Int8Array;
}

/** Checks the bit vectors (same length T >= 1 everywhere, values 0/1/true/false) and builds the difference matrix. */
export function differenceMatrix(runs: readonly SeedCorrectness[]): DifferenceMatrix {
  const S = runs.length;
  if (S === 0) throw new RangeError('no seeds');
  const T = runs[0]?.arm.length ?? 0;
  if (T === 0) throw new RangeError('no test images');
  const d = new Int8Array(S * T);
  const bit = (v: number | boolean | undefined, s: number, i: number, which: string): number => {
    if (v === true || v === 1) return 1;
    if (v === false || v === 0) return 0;
    throw new RangeError(`seed ${s}, image ${i}: ${which} correctness must be 0 or 1, got ${String(v)}`);
  };
  for (const [s, run] of runs.entries()) {
    if (run.arm.length !== T || run.reference.length !== T)
      throw new RangeError(
        `seed ${s}: ${run.arm.length} arm and ${run.reference.length} reference bits, expected ${T} (same test images for every run)`,
      );
    for (let i = 0; i < T; i++) d[s * T + i] = bit(run.arm[i], s, i, 'arm') - bit(run.reference[i], s, i, 'reference');
  }
  return { seeds: S, images: T, d };
}

/** Variance components of one observation d[s][i], in squared fractions (multiply by 1e4 for points^2). */
export interface VarianceComponents {
  /** Between seeds: sigma_seed^2 (the arm's effect varies with the seed). */
  readonly seed: number;
  /** Between images: sigma_image^2 (the arm's effect varies with the image); truncated at 0. */
  readonly image: number;
  /** Seed-by-image residual: sigma_residual^2. */
  readonly residual: number;
}

/** The crossed seeds x images interval and test. */
export interface CrossedInterval {
  readonly seeds: number;
  readonly images: number;
  readonly level: number;
  /** Mean difference, in points. */
  readonly mean: number;
  /** Its standard error over seeds and images, in points; NaN below 2 seeds. */
  readonly se: number;
  /** Degrees of freedom of the interval and test: S - 1 (default) or `satterthwaiteDf`. */
  readonly df: number;
  /** Satterthwaite's approximation for the variance estimate's degrees of freedom (reported either way). */
  readonly satterthwaiteDf: number;
  /** The `level` t interval in points; null below 2 seeds. */
  readonly interval: readonly [number, number] | null;
  /** Two-sided t-test p of "no difference" over seeds and images. */
  readonly p: number;
  readonly components: VarianceComponents;
  /**
   * Shares of Var(mean) (summing to 1): seeds sigma_seed^2/S, images sigma_image^2/T, residual
   * sigma_residual^2/(S T). `images` is the test-sampling share: what an interval over seeds alone misses.
   */
  readonly shares: { readonly seeds: number; readonly images: number; readonly residual: number };
  /** The interval over seeds alone (per-seed differences on these fixed images), for comparison. */
  readonly seedsOnly: { readonly se: number; readonly df: number; readonly interval: readonly [number, number] | null };
  /** True when MS_images < MS_residual and the image component was set to 0 (then df = S - 1). */
  readonly truncated: boolean;
}

/**
 * The mean difference with a standard error from both seeds and test images (two-way crossed
 * random effects, method of moments on the balanced ANOVA mean squares) and its t
 * interval at `level` (default 0.95) and two-sided p. Needs S >= 2 seeds and T >= 2 images for the
 * interval (else null / NaN). When the image mean square is below the residual one the image
 * component is set to 0 and the interval is the seeds-only one. `dfRule` 'seeds' (default) uses
 * S - 1 degrees of freedom, 'satterthwaite' the Satterthwaite approximation (narrower; it fell to
 * 93.5% coverage at 3 seeds in simulation).
 */
export function crossedInterval(
  runs: readonly SeedCorrectness[] | DifferenceMatrix,
  level = 0.95,
  dfRule: 'seeds' | 'satterthwaite' = 'seeds',
): CrossedInterval {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const { seeds: S, images: T, d } = 'd' in runs ? runs : differenceMatrix(runs);
  const rows = new Float64Array(S);
  const cols = new Float64Array(T);
  let total = 0;
  let sumSq = 0;
  for (let s = 0; s < S; s++)
    for (let i = 0; i < T; i++) {
      const v = d[s * T + i] as number;
      rows[s] = (rows[s] as number) + v;
      cols[i] = (cols[i] as number) + v;
      total += v;
      sumSq += v * v;
    }
  const N = S * T;
  const m = total / N;
  let ssSeeds = 0;
  for (let s = 0; s < S; s++) ssSeeds += T * ((rows[s] as number) / T - m) ** 2;
  let ssImages = 0;
  for (let i = 0; i < T; i++) ssImages += S * ((cols[i] as number) / S - m) ** 2;
  const ssTotal = sumSq - N * m * m;
  const ssResidual = Math.max(0, ssTotal - ssSeeds - ssImages);
  const msS = S > 1 ? ssSeeds / (S - 1) : Number.NaN;
  const msI = T > 1 ? ssImages / (T - 1) : Number.NaN;
  const msE = S > 1 && T > 1 ? ssResidual / ((S - 1) * (T - 1)) : Number.NaN;
  const truncated = !(msI >= msE);
  const imageTerm = truncated ? 0 : msI - msE; // = S * sigma_image^2
  const varMean = (msS + imageTerm) / N;
  // Every difference equal (all 0, say): no spread at all, a zero-width interval on S - 1 df.
  const satterthwaiteDf =
    truncated || varMean === 0
      ? S - 1
      : (msS + msI - msE) ** 2 / (msS ** 2 / (S - 1) + msI ** 2 / (T - 1) + msE ** 2 / ((S - 1) * (T - 1)));
  const components: VarianceComponents = {
    seed: Math.max(0, (msS - msE) / T),
    image: imageTerm / S,
    residual: msE,
  };
  const seedShare = components.seed / S;
  const imageShare = components.image / T;
  const residualShare = components.residual / N;
  const shareTotal = seedShare + imageShare + residualShare;
  const toPoints = 100;
  const mean = m * toPoints;
  const se = Math.sqrt(varMean) * toPoints;
  const seSeeds = Math.sqrt(msS / N) * toPoints;
  const interval = (center: number, stderr: number, dof: number): [number, number] | null => {
    if (!Number.isFinite(stderr) || !(dof > 0)) return null;
    const h = tQuantile(1 - (1 - level) / 2, dof) * stderr;
    return [center - h, center + h];
  };
  const df = dfRule === 'seeds' ? S - 1 : satterthwaiteDf;
  const ci = interval(mean, se, df);
  let p: number;
  if (!Number.isFinite(se) || !(df > 0)) p = Number.NaN;
  else if (se === 0) p = mean === 0 ? 1 : 0;
  else p = Math.min(1, 2 * (1 - tCdf(Math.abs(mean) / se, df)));
  return {
    seeds: S,
    images: T,
    level,
    mean,
    se,
    df,
    satterthwaiteDf,
    interval: ci,
    p,
    components,
    shares:
      shareTotal > 0
        ? { seeds: seedShare / shareTotal, images: imageShare / shareTotal, residual: residualShare / shareTotal }
        : { seeds: 0, images: 0, residual: 0 },
    seedsOnly: { se: seSeeds, df: S - 1, interval: interval(mean, seSeeds, S - 1) },
    truncated,
  };
}

/** The two-level bootstrap interval. */
export interface CrossedBootstrap {
  readonly level: number;
  readonly draws: number;
  readonly seed: number;
  readonly mean: number;
  /** Standard deviation of the bootstrap means, in points. */
  readonly se: number;
  /** Percentile interval, in points. */
  readonly interval: readonly [number, number];
}

/**
 * Two-level paired bootstrap over seeds and test images: each of `draws` (default 2000) draws picks
 * S seeds and T images with replacement (one image draw shared by every seed drawn, as the runs
 * shared the test images) and takes the mean difference; the interval is the percentile interval
 * at `level`. Seeded: keys (seed, 'crossed-bootstrap', draw), never an unseeded draw; the same inputs
 * and seed give the same interval.
 */
export function crossedBootstrap(
  runs: readonly SeedCorrectness[] | DifferenceMatrix,
  options: { readonly draws?: number; readonly seed?: number; readonly level?: number } = {},
): CrossedBootstrap {
  const { draws = 2000, seed = 0, level = 0.95 } = options;
  if (!(Number.isInteger(draws) && draws >= 10)) throw new RangeError(`draws must be an integer >= 10, got ${draws}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const { seeds: S, images: T, d } = 'd' in runs ? runs : differenceMatrix(runs);
  const imageWeight = new Float64Array(T);
  const seedWeight = new Float64Array(S);
  const means = new Float64Array(draws);
  let observed = 0;
  for (let k = 0; k < S * T; k++) observed += d[k] as number;
  for (let b = 0; b < draws; b++) {
    const r = rng(seed, 'crossed-bootstrap', b);
    seedWeight.fill(0);
    imageWeight.fill(0);
    for (let s = 0; s < S; s++) {
      const pick = r.int(S);
      seedWeight[pick] = (seedWeight[pick] as number) + 1;
    }
    for (let i = 0; i < T; i++) {
      const pick = r.int(T);
      imageWeight[pick] = (imageWeight[pick] as number) + 1;
    }
    let sum = 0;
    for (let s = 0; s < S; s++) {
      const w = seedWeight[s] as number;
      if (w === 0) continue;
      let row = 0;
      const base = s * T;
      for (let i = 0; i < T; i++) row += (imageWeight[i] as number) * (d[base + i] as number);
      sum += w * row;
    }
    means[b] = (sum / (S * T)) * 100;
  }
  const sorted = Array.from(means).sort((a, b) => a - b);
  const at = (q: number): number => {
    const x = q * (draws - 1);
    const lo = Math.floor(x);
    const hi = Math.min(draws - 1, lo + 1);
    return (sorted[lo] as number) + (x - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
  };
  const avg = sorted.reduce((a, b) => a + b, 0) / draws;
  const se = Math.sqrt(sorted.reduce((a, b) => a + (b - avg) ** 2, 0) / (draws - 1));
  return { level, draws, seed, mean: (observed / (S * T)) * 100, se, interval: [at((1 - level) / 2), at(1 - (1 - level) / 2)] };
}

/** McNemar's test pooled over seeds. */
export interface StratifiedMcNemar {
  /** Per seed: images only the arm got right (b) and only the reference got right (c). */
  readonly perSeed: ReadonlyArray<{ readonly armOnly: number; readonly referenceOnly: number }>;
  readonly armOnly: number;
  readonly referenceOnly: number;
  /** (sum b - sum c) / sqrt(sum (b + c)): the Mantel-Haenszel statistic for matched pairs, signed. */
  readonly z: number;
  /** Exact two-sided p: sum b ~ Binomial(sum (b + c), 1/2) under H0. */
  readonly p: number;
}

/** log of the binomial(n, 1/2) probability of k. */
function logBinomialHalf(n: number, k: number, logFactorial: Float64Array): number {
  return (logFactorial[n] as number) - (logFactorial[k] as number) - (logFactorial[n - k] as number) - n * Math.LN2;
}

/**
 * McNemar's test pooled over the seeds (CMH for matched pairs): within each seed, an image that one
 * arm got right and the other wrong is a discordant pair; under H0 each goes either way with
 * probability 1/2, so sum b ~ Binomial(sum (b + c), 1/2): exact two-sided p (the probability of
 * outcomes no likelier than the observed). Conditions on the trained models (see the file's notes):
 * not for the verdict.
 */
export function stratifiedMcNemar(runs: readonly SeedCorrectness[] | DifferenceMatrix): StratifiedMcNemar {
  const { seeds: S, images: T, d } = 'd' in runs ? runs : differenceMatrix(runs);
  const perSeed: Array<{ armOnly: number; referenceOnly: number }> = [];
  let b = 0;
  let c = 0;
  for (let s = 0; s < S; s++) {
    let bs = 0;
    let cs = 0;
    for (let i = 0; i < T; i++) {
      const v = d[s * T + i] as number;
      if (v > 0) bs++;
      else if (v < 0) cs++;
    }
    perSeed.push({ armOnly: bs, referenceOnly: cs });
    b += bs;
    c += cs;
  }
  const n = b + c;
  const z = n === 0 ? 0 : (b - c) / Math.sqrt(n);
  let p = 1;
  if (n > 0) {
    const logFactorial = new Float64Array(n + 1);
    for (let k = 1; k <= n; k++) logFactorial[k] = (logFactorial[k - 1] as number) + Math.log(k);
    const observed = logBinomialHalf(n, b, logFactorial);
    p = 0;
    for (let k = 0; k <= n; k++) {
      const lp = logBinomialHalf(n, k, logFactorial);
      if (lp <= observed + 1e-9) p += Math.exp(lp);
    }
    p = Math.min(1, p);
  }
  return { perSeed, armOnly: b, referenceOnly: c, z, p };
}

/** Why the verdict uses `crossedInterval`, in words for the report. */
export const IMAGES_DECIDED_BY =
  'two-way (seeds x test images) random-effects t interval on seeds - 1 degrees of freedom: the test images are a sample too, shared by every seed, so a difference that rides on which images were drawn is uncertainty the per-seed interval cannot see; the bootstrap over seeds and images checks it without normality; the pooled McNemar test conditions on the trained models and is shown for reference only';

/**
 * Paired comparisons of arms against a reference arm, from a list of RunRecords alone.
 *
 * For one seed every arm shares the model initialisation, the split and the source order, so the
 * per-seed difference (arm - reference) removes the seed's own luck. On those differences: a 95%
 * Student t interval (assumes normal differences), an exact two-sided sign-flip permutation p over
 * all 2^n sign assignments (assumes only that under "no effect" a difference is as likely + as -),
 * Holm's correction across the arms compared, and a verdict.
 *
 * The verdict uses the Holm-corrected sign-flip p, not the t interval: 3-10 seeds cannot check
 * normality, and a t interval on 3 tight differences can exclude 0 by far while the exact test
 * cannot go below 2/2^n (n = 3: 0.25; n = 6: 0.031). Both are shown; the seeds-needed estimate says
 * how many seeds each would need.
 */
import { rng } from '../../core/random.js';
import { holmAdjust } from './contrasts.js';
import { runMetrics, type RunMetric } from './metrics.js';
import type { RunRecord } from '../record.js';
import { meanSd } from './meanSd.js';
import { tQuantile } from './tdist.js';

export type Verdict = 'better' | 'worse' | 'inconclusive';

/** One arm against the reference on one metric. Differences are arm - reference, in the metric's units (accuracy: a fraction). */
export interface Comparison {
  readonly arm: string;
  readonly baseline: string;
  readonly metric: string;
  readonly label: string;
  readonly higherIsBetter: boolean;
  /** Seeds both arms ran, ascending, and the difference for each. */
  readonly seeds: readonly number[];
  readonly differences: readonly number[];
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation of the differences (n - 1). */
  readonly sd: number;
  /** 95% Student t interval of the mean difference; null below 2 seeds. */
  readonly ci95: readonly [number, number] | null;
  /** Two-sided sign-flip permutation p. */
  readonly p: number;
  readonly pMethod: string;
  /** The smallest p the sign-flip test can give with n seeds: 2 / 2^n. */
  readonly pFloor: number;
  /** p after Holm's correction across the arms compared on this metric. */
  readonly pHolm: number;
  readonly verdict: Verdict;
  readonly reason: string;
  /** The smallest |mean difference| a paired t test would detect at this n with 80% power; null below 2 seeds. */
  readonly detectableEffect: number | null;
  readonly seedsNeeded: {
    /** The effect asked about (--effect), in the metric's units; null for losses. */
    readonly effect: number | null;
    /** Seeds a paired t test needs for `effect` at 80% power from this run's SD; null when unknown. */
    readonly tTest: number | null;
    /** Seeds the sign-flip test needs before its floor 2/2^n can pass Holm's first step (alpha / arms). */
    readonly signFlip: number;
  };
}

export interface CompareOptions {
  /** Arms in report order; the reference is compared against every other one. */
  readonly arms: readonly string[];
  /** Reference arm; default the first of `arms`. */
  readonly baseline?: string;
  /** Two-sided significance level. Default 0.05. */
  readonly alpha?: number;
  /** Effect of interest for seeds-needed, in accuracy points. Default 1 (one point). */
  readonly effect?: number;
  /** Power for seeds-needed and the detectable effect. Default 0.8. */
  readonly power?: number;
  /** Epochs averaged by the last-k metric. Default 3. */
  readonly lastK?: number;
  /** Exact enumeration up to this many seeds, Monte-Carlo beyond. Default 16. */
  readonly exactUpTo?: number;
  /** Monte-Carlo draws beyond exactUpTo. Default 20000. */
  readonly draws?: number;
  /** Seed of the Monte-Carlo draws. Default 0. */
  readonly seed?: number;
}

/** What results.json records: the settings and every comparison. */
export interface ComparisonSet {
  readonly baseline: string;
  readonly alpha: number;
  readonly effectPoints: number;
  readonly power: number;
  readonly decidedBy: string;
  readonly comparisons: readonly Comparison[];
}

export const DECIDED_BY =
  'Holm-corrected exact sign-flip p: it assumes nothing about the shape of the differences, which a handful of seeds cannot check; the t interval (assumes normal differences) is shown for the size of the effect';

/** The two-sided `level` Student t interval of the mean of `xs`; null below 2 values. */
export function tInterval(xs: readonly number[], level = 0.95): [number, number] | null {
  if (xs.length < 2) return null;
  const { mean, sd } = meanSd(xs);
  const half = (tQuantile(1 - (1 - level) / 2, xs.length - 1) * sd) / Math.sqrt(xs.length);
  return [mean - half, mean + half];
}

/**
 * Two-sided sign-flip permutation p of H0 "each difference is symmetric about 0": the share of
 * sign assignments whose |sum| is at least the observed one (the observed one counts, so p >= 2/2^n).
 * Exact over all 2^n assignments for n <= exactUpTo; beyond, `draws` seeded random assignments, p = (1 + hits) / (1 + draws).
 */
export function signFlipP(
  xs: readonly number[],
  options: { readonly exactUpTo?: number; readonly draws?: number; readonly seed?: number; readonly key?: string } = {},
): { p: number; method: string } {
  const { exactUpTo = 16, draws = 20000, seed = 0, key = '' } = options;
  const n = xs.length;
  if (n === 0) return { p: 1, method: 'no differences' };
  const observed = Math.abs(xs.reduce((a, b) => a + b, 0));
  // Float sums of the same values in another order differ in the last bits: count near-ties as ties.
  const tol = 1e-9 * xs.reduce((a, b) => a + Math.abs(b), 0);
  if (n <= exactUpTo) {
    let hits = 0;
    const total = 2 ** n;
    for (let mask = 0; mask < total; mask++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += mask & (1 << i) ? -(xs[i] as number) : (xs[i] as number);
      if (Math.abs(s) >= observed - tol) hits++;
    }
    return { p: hits / total, method: `exact sign-flip over all 2^${n} = ${total} assignments` };
  }
  const r = rng(seed, 'sign-flip', key, n);
  let hits = 0;
  for (let d = 0; d < draws; d++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += r.next() < 0.5 ? -(xs[i] as number) : (xs[i] as number);
    if (Math.abs(s) >= observed - tol) hits++;
  }
  return { p: (1 + hits) / (1 + draws), method: `Monte-Carlo sign-flip, ${draws} draws (seed ${seed})` };
}

/** (t_{1-alpha/2, n-1} + t_{power, n-1}) * sd / sqrt(n): the paired t test's detectable effect at n seeds. */
export function detectableEffect(sd: number, n: number, alpha = 0.05, power = 0.8): number | null {
  if (n < 2 || !Number.isFinite(sd)) return null;
  return ((tQuantile(1 - alpha / 2, n - 1) + tQuantile(power, n - 1)) * sd) / Math.sqrt(n);
}

/** The smallest n >= 2 whose detectable effect is <= effect; null when sd is unknown or n would pass 10000. */
export function seedsForEffect(sd: number, effect: number, alpha = 0.05, power = 0.8): number | null {
  if (!Number.isFinite(sd) || !(effect > 0)) return null;
  // The detectable effect falls as n grows: bisect rather than scan (a wide spread needs thousands).
  const ok = (n: number): boolean => (detectableEffect(sd, n, alpha, power) as number) <= effect;
  if (!ok(10000)) return null;
  let lo = 1;
  let hi = 10000;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (mid >= 2 && ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Seeds before the sign-flip floor 2/2^n can be <= alpha / m (Holm's first, strictest step with m arms compared). */
export function signFlipSeeds(alpha: number, m: number): number {
  return Math.max(1, Math.ceil(Math.log2((2 * Math.max(1, m)) / alpha) - 1e-12));
}

const fmtP = (p: number): string => (p < 0.001 ? p.toExponential(1) : String(Number(p.toPrecision(2))));

/** Every non-reference arm against the reference on every metric, Holm-corrected per metric across arms. */
export function compareArms(runs: readonly RunRecord[], options: CompareOptions): ComparisonSet {
  const { alpha = 0.05, effect = 1, power = 0.8, lastK = 3, exactUpTo = 16, draws = 20000, seed = 0 } = options;
  const baseline = options.baseline ?? options.arms[0];
  if (baseline === undefined) throw new RangeError('compareArms: no arms');
  if (!options.arms.includes(baseline)) throw new RangeError(`baseline '${baseline}' is not one of the arms: ${options.arms.join(', ')}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(effect > 0)) throw new RangeError(`effect must be > 0 accuracy points, got ${effect}`);
  const others = options.arms.filter((a) => a !== baseline);
  const m = others.length;
  const floorSeeds = signFlipSeeds(alpha, m);
  const comparisons: Comparison[] = [];
  // Metrics no run has (a test split the data lacks) are left out; the first left is the headline.
  for (const metric of runMetrics(lastK).filter((x) => runs.some((r) => Number.isFinite(x.of(r))))) {
    const raw = others.map((arm) => pairedDifferences(runs, arm, baseline, metric));
    const ps = raw.map((d, i) => signFlipP(d.differences, { exactUpTo, draws, seed, key: `${others[i]}|${metric.key}` }));
    const adjusted = holmAdjust(ps.map((x) => x.p));
    for (const [i, arm] of others.entries()) {
      const { seeds, differences } = raw[i] as { seeds: number[]; differences: number[] };
      const n = differences.length;
      const { mean, sd } = meanSd(differences);
      const pFloor = n === 0 ? 1 : Math.min(1, 2 / 2 ** n);
      const pHolm = adjusted[i] as number;
      const effectUnits = metric.kind === 'accuracy' ? effect / 100 : null;
      const ci95 = tInterval(differences);
      const { verdict, reason } = decide({
        n,
        mean,
        differences,
        pHolm,
        p: (ps[i] as { p: number }).p,
        pFloor,
        alpha,
        m,
        floorSeeds,
        higherIsBetter: metric.higherIsBetter,
      });
      comparisons.push({
        arm,
        baseline,
        metric: metric.key,
        label: metric.label,
        higherIsBetter: metric.higherIsBetter,
        seeds,
        differences,
        n,
        mean,
        sd,
        ci95,
        p: (ps[i] as { p: number }).p,
        pMethod: (ps[i] as { method: string }).method,
        pFloor,
        pHolm,
        verdict,
        reason,
        detectableEffect: detectableEffect(sd, n, alpha, power),
        seedsNeeded: {
          effect: effectUnits,
          tTest: effectUnits === null ? null : seedsForEffect(sd, effectUnits, alpha, power),
          signFlip: floorSeeds,
        },
      });
    }
  }
  return { baseline, alpha, effectPoints: effect, power, decidedBy: DECIDED_BY, comparisons };
}

/** Per-seed differences arm - baseline over the seeds both ran (NaN values dropped). */
function pairedDifferences(
  runs: readonly RunRecord[],
  arm: string,
  baseline: string,
  metric: RunMetric,
): { seeds: number[]; differences: number[] } {
  const seeds: number[] = [];
  const differences: number[] = [];
  const ref = new Map(runs.filter((r) => r.arm === baseline).map((r) => [r.seed, metric.of(r)]));
  for (const r of [...runs].filter((x) => x.arm === arm).sort((a, b) => a.seed - b.seed)) {
    const b = ref.get(r.seed);
    const a = metric.of(r);
    if (b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || seeds.includes(r.seed)) continue;
    seeds.push(r.seed);
    differences.push(a - b);
  }
  return { seeds, differences };
}

function decide(c: {
  n: number;
  mean: number;
  differences: readonly number[];
  p: number;
  pHolm: number;
  pFloor: number;
  alpha: number;
  m: number;
  floorSeeds: number;
  higherIsBetter: boolean;
}): { verdict: Verdict; reason: string } {
  const { n, alpha } = c;
  if (n === 0) return { verdict: 'inconclusive', reason: 'no seed was run by both arms' };
  if (c.differences.every((d) => d === 0))
    return { verdict: 'inconclusive', reason: `every paired difference is exactly 0 (${n} seeds): the arm gave the reference's numbers` };
  if (c.pFloor > alpha / c.m)
    return {
      verdict: 'inconclusive',
      reason: `with ${n} seed${n === 1 ? '' : 's'} the smallest possible two-sided p is ${fmtP(c.pFloor)}${c.m > 1 ? ` (Holm over ${c.m} arms needs p <= ${fmtP(alpha / c.m)})` : ''}, so nothing can be shown; the sign-flip test needs >= ${c.floorSeeds} seeds`,
    };
  if (c.pHolm > alpha) return { verdict: 'inconclusive', reason: `p = ${fmtP(c.p)}, Holm-corrected ${fmtP(c.pHolm)} > ${alpha}` };
  const good = c.mean > 0 === c.higherIsBetter;
  return { verdict: good ? 'better' : 'worse', reason: `p = ${fmtP(c.p)}, Holm-corrected ${fmtP(c.pHolm)} <= ${alpha}` };
}

/**
 * The first epoch from which the arm's per-seed validation-accuracy differences to the reference
 * have a 95% t interval excluding 0 at every later epoch too; null when they never do. A reading
 * aid for the curves, not a verdict: it is uncorrected for the epochs looked at.
 */
export function separationEpoch(runs: readonly RunRecord[], arm: string, baseline: string): number | null {
  const ref = new Map(runs.filter((r) => r.arm === baseline).map((r) => [r.seed, r]));
  const mine = runs.filter((r) => r.arm === arm && ref.has(r.seed));
  const epochs = Math.min(...mine.map((r) => Math.min(r.epochs.length, ref.get(r.seed)?.epochs.length ?? 0)));
  if (mine.length < 2 || !Number.isFinite(epochs)) return null;
  let first: number | null = null;
  for (let e = 0; e < epochs; e++) {
    const d = mine.map((r) => (r.epochs[e]?.valAccuracy ?? Number.NaN) - (ref.get(r.seed)?.epochs[e]?.valAccuracy ?? Number.NaN));
    const ci = tInterval(d);
    const apart = ci !== null && (ci[0] > 0 || ci[1] < 0) && Number.isFinite(ci[0]);
    if (apart && first === null) first = e + 1;
    if (!apart) first = null;
  }
  return first;
}

/**
 * A guard against optional stopping: "add a seed, look, stop when p <= 0.05" turns a 4% test into
 * a 10% one (exact sign-flip, looks at 3..12 seeds). When seeds were added after an earlier look at
 * the same config, the verdict needs a test that holds over those looks. Here:
 *
 * - `groupSequentialSignFlip` (recommended when a maximum number of seeds was declared before the
 *   first look): alpha spent over the looks by a Pocock-type spending function of seeds / maxSeeds,
 *   each look's threshold computed exactly from the joint law of the looks' sign-flip sums (given
 *   the magnitudes, the signs are fair coins under H0). Close to the fixed test's power.
 * - `signFlipEProcess` (always valid, nothing declared): a test martingale for the sign-flip null.
 *   With s_i the sign of d_i and w_i = |d_i| / max_{j <= i} |d_j| (magnitudes only), E_n = mean over
 *   a grid of lambda of prod_{i <= n} (1 + lambda s_i w_i). Given the magnitudes each product is a
 *   nonnegative martingale of mean 1, and so is the mean; by Ville's inequality P(E_n >= 1/alpha at
 *   any n) <= alpha, however many looks were taken, recorded or not, whatever chose when to stop.
 *   The price: little power at a dozen seeds.
 * - `spendingLevel`: plain Bonferroni-type levels per look (alpha / K for K declared looks, else
 *   alpha / (k (k + 1)), summing to alpha over any number of looks), for other tests.
 * - `sequentialVerdict` picks among these; `seedsAddedAfterLook` says whether a comparison's seeds
 *   grew after an earlier recorded look (the store keeps one record per report or finished command,
 *   with its seed set) and in which order the seeds entered.
 *
 * Caveat (all of them): the looks' timing must not depend on the signs seen; a user who adds
 * seeds because the last look "nearly" passed is covered only by the e-process.
 */
import { rng } from '../../core/random.js';
import { countSignFlip, signFlipDistribution } from './counts.js';

/** One recorded look at a config: the seeds its comparison used. */
export interface Look {
  readonly seeds: readonly number[];
  /** When (ISO time), for the message; optional. */
  readonly at?: string;
}

export interface PeekCheck {
  /** True when seeds were added to the comparison after an earlier look at it. */
  readonly peeked: boolean;
  /** Seeds of the current comparison that the first earlier look did not have, ascending. */
  readonly added: readonly number[];
  /** Earlier looks whose seeds were a strict, non-empty subset of the current seeds. */
  readonly earlierLooks: number;
  /** The current seeds in the order they entered: the first look's, then each later look's new ones, then the rest (each group ascending). */
  readonly order: readonly number[];
  /** One line for the report; empty when nothing was added after a look. */
  readonly note: string;
}

/**
 * Whether the `current` seeds grew after any of the `earlier` looks (same config, oldest first),
 * and the order the seeds entered, which the sequential tests follow.
 */
export function seedsAddedAfterLook(earlier: readonly Look[], current: readonly number[]): PeekCheck {
  const now = new Set(current);
  const seen = new Set<number>();
  const order: number[] = [];
  let earlierLooks = 0;
  let first: Set<number> | undefined;
  for (const look of earlier) {
    const inNow = [...new Set(look.seeds)].filter((s) => now.has(s)).sort((a, b) => a - b);
    if (inNow.length === 0) continue;
    first ??= new Set(inNow);
    if (inNow.length < now.size) earlierLooks++;
    for (const s of inNow)
      if (!seen.has(s)) {
        seen.add(s);
        order.push(s);
      }
  }
  for (const s of [...now].filter((x) => !seen.has(x)).sort((a, b) => a - b)) order.push(s);
  const added = first ? [...now].filter((s) => !(first as Set<number>).has(s)).sort((a, b) => a - b) : [];
  const peeked = earlierLooks > 0 && added.length > 0;
  return {
    peeked,
    added: peeked ? added : [],
    earlierLooks,
    order,
    note: peeked
      ? `seed${added.length === 1 ? '' : 's'} ${added.join(', ')} ${added.length === 1 ? 'was' : 'were'} added after an earlier look at this config (${earlierLooks} earlier look${earlierLooks === 1 ? '' : 's'}): the verdict uses a test that holds under optional stopping`
      : '',
  };
}

/**
 * The level of look `k` (1-based) under alpha spending: alpha / maxLooks when `maxLooks` was declared
 * before the first look (0 past it: no verdict beyond the declared looks), else alpha / (k (k + 1)).
 */
export function spendingLevel(k: number, alpha = 0.05, maxLooks?: number): number {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`look must be an integer >= 1, got ${k}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (maxLooks !== undefined) {
    if (!(Number.isInteger(maxLooks) && maxLooks >= 1)) throw new RangeError(`maxLooks must be an integer >= 1, got ${maxLooks}`);
    return k <= maxLooks ? alpha / maxLooks : 0;
  }
  return alpha / (k * (k + 1));
}

/** The default grid of bets: lambda = +-0.05, +-0.15, ..., +-0.95 (20 values, equal weights). */
export const DEFAULT_LAMBDAS: readonly number[] = Array.from({ length: 10 }, (_, i) => 0.05 + 0.1 * i).flatMap((l) => [l, -l]);

export interface EProcess {
  /** E after each seed, in the order given (E_0 = 1 is not listed). */
  readonly path: readonly number[];
  /** E after the last seed. */
  readonly final: number;
  /** The largest E along the path. */
  readonly max: number;
  /** min(1, 1 / max): an always-valid p (the e-process crossing 1/alpha at any look rejects). */
  readonly p: number;
}

/**
 * The sign-flip e-process over differences in the order the seeds entered (see the file's notes):
 * mixture over `lambdas` (each in (-1, 1); default DEFAULT_LAMBDAS) of prod (1 + lambda s_i w_i).
 * Reject "no effect" at alpha when E >= 1 / alpha. Zeros leave E unchanged. Its direction is the
 * sign of the sum of the differences.
 */
export function signFlipEProcess(differences: readonly number[], lambdas: readonly number[] = DEFAULT_LAMBDAS): EProcess {
  if (lambdas.length === 0 || lambdas.some((l) => !(l > -1 && l < 1))) throw new RangeError('lambdas must be in (-1, 1), at least one');
  for (const [i, d] of differences.entries()) if (!Number.isFinite(d)) throw new RangeError(`differences[${i}] must be finite, got ${d}`);
  const products = new Float64Array(lambdas.length).fill(1);
  const path: number[] = [];
  let biggest = 0;
  for (const d of differences) {
    biggest = Math.max(biggest, Math.abs(d));
    const w = biggest === 0 ? 0 : Math.abs(d) / biggest;
    const s = Math.sign(d);
    let sum = 0;
    for (const [j, l] of lambdas.entries()) {
      products[j] = (products[j] as number) * (1 + l * s * w);
      sum += products[j] as number;
    }
    path.push(sum / lambdas.length);
  }
  const final = path[path.length - 1] ?? 1;
  const max = Math.max(1, ...path);
  return { path, final, max, p: Math.min(1, 1 / max) };
}

/** Cumulative share of alpha spent at information fraction t in [0, 1]. */
export type SpendingFunction = (t: number) => number;

/** Pocock-type spending (Lan and DeMets 1983): ln(1 + (e - 1) t); spends early, like equal per-look levels. */
export const pocockSpending: SpendingFunction = (t) => Math.log(1 + (Math.E - 1) * Math.min(1, Math.max(0, t)));

/** Late spending, the Kim-DeMets power family t^3 (close in shape to O'Brien-Fleming's): little alpha at early looks, most kept for the last. */
export const lateSpending: SpendingFunction = (t) => Math.min(1, Math.max(0, t)) ** 3;

/** P(|S| >= a) under the sign flips of these integer differences. */
function tailP(differences: readonly number[], a: number): number {
  const { min, probability } = signFlipDistribution(differences);
  let p = 0;
  for (let k = 0; k < probability.length; k++) if (Math.abs(min + k) >= a) p += probability[k] as number;
  return Math.min(1, p);
}

export interface GroupSequential {
  /** Seeds at each look (ascending), the last being the current comparison. */
  readonly looks: readonly number[];
  /** Per look: the exact sign-flip p of the seeds then, and the p threshold spent for that look (0: none could be). */
  readonly perLook: ReadonlyArray<{ readonly seeds: number; readonly p: number; readonly threshold: number; readonly spent: number }>;
  /**
   * Whether "no effect" is rejected: some look's p passed its threshold (the rejection region is
   * the union over looks, of probability <= alpha under H0; a later look cannot undo it).
   */
  readonly reject: boolean;
  /** The first look whose p passed its threshold (1-based), or null. */
  readonly firstRejectingLook: number | null;
  /** 'exact' (all 2^n sign vectors) or 'monte-carlo' (n > exactUpTo). */
  readonly method: string;
}

/**
 * A group-sequential exact sign-flip test over recorded looks, with alpha spent by `spending`
 * (default Pocock-type) over the information fraction seeds / maxSeeds, maxSeeds declared before the
 * first look. Conditional on the magnitudes of the integer `differences` (in the order the seeds
 * entered), the signs are fair coins under H0, so the joint law of every look's exact p is known:
 * look k's threshold is the largest p that keeps P(some look <= k passes) <= alpha * spending(n_k /
 * maxSeeds), computed over all 2^n sign vectors (n <= exactUpTo, default 16) or `draws` seeded
 * random ones. Valid for any look schedule that does not depend on the signs seen; seeds beyond
 * maxSeeds are refused (RangeError). Rejects when any look's p passed its threshold.
 */
export function groupSequentialSignFlip(
  differences: readonly number[],
  looks: readonly number[],
  options: {
    readonly maxSeeds: number;
    readonly alpha?: number;
    readonly spending?: SpendingFunction;
    readonly exactUpTo?: number;
    readonly draws?: number;
    readonly seed?: number;
  },
): GroupSequential {
  const { maxSeeds, alpha = 0.05, spending = pocockSpending, exactUpTo = 16, draws = 1 << 16, seed = 0 } = options;
  const n = differences.length;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (looks.length === 0 || looks[looks.length - 1] !== n)
    throw new RangeError(`the last look must be the ${n} seeds compared, got [${looks.join(', ')}]`);
  for (const [i, k] of looks.entries())
    if (!Number.isInteger(k) || k < 1 || (i > 0 && k <= (looks[i - 1] as number)))
      throw new RangeError(`looks must be ascending seed counts >= 1, got [${looks.join(', ')}]`);
  if (!(Number.isInteger(maxSeeds) && maxSeeds >= 1)) throw new RangeError(`maxSeeds must be an integer >= 1, got ${maxSeeds}`);
  if (n > maxSeeds) throw new RangeError(`${n} seeds is more than the ${maxSeeds} declared before the first look: no verdict beyond them`);
  const abs = differences.map((d) => Math.abs(d));
  const exact = n <= exactUpTo;
  const count = exact ? 2 ** n : draws;
  // |S_k| of every sign vector at every look: bit patterns (exact) or seeded random signs. The
  // exact p at a look falls as |S_k| grows, so "p <= c" is "|S_k| >= a cutoff".
  const sums = looks.map(() => new Int32Array(count));
  const acc = new Int32Array(count);
  const r = exact ? undefined : rng(seed, 'group-sequential', n);
  // Random signs: one 32-bit word per vector and 32 seeds (n > 32 draws more words).
  const words = r ? Array.from({ length: Math.ceil(n / 32) }, () => Uint32Array.from({ length: count }, () => r.uint32())) : [];
  let look = 0;
  for (let i = 0; i < n; i++) {
    const a = abs[i] as number;
    if (a !== 0) {
      if (r) {
        const word = words[i >> 5] as Uint32Array;
        const bit = i & 31;
        for (let v = 0; v < count; v++) acc[v] = (acc[v] as number) + (((word[v] as number) >>> bit) & 1 ? -a : a);
      } else {
        for (let v = 0; v < count; v++) acc[v] = (acc[v] as number) + ((v >>> i) & 1 ? -a : a);
      }
    }
    while (look < looks.length && looks[look] === i + 1) {
      const out = sums[look++] as Int32Array;
      for (let v = 0; v < count; v++) out[v] = Math.abs(acc[v] as number);
    }
  }
  const rejected = new Uint8Array(count);
  let rejectedCount = 0;
  const perLook: Array<{ seeds: number; p: number; threshold: number; spent: number }> = [];
  let firstRejectingLook: number | null = null;
  for (const [k, seeds] of looks.entries()) {
    const prefix = differences.slice(0, seeds);
    const top = prefix.reduce((a, d) => a + Math.abs(d), 0);
    const target = alpha * spending(seeds / maxSeeds);
    const budget = Math.floor(target * count + 1e-9) - rejectedCount;
    const sk = sums[k] as Int32Array;
    // Open vectors per |S_k|; the cutoff is the smallest |S| whose tail count stays within budget.
    const histogram = new Int32Array(top + 1);
    for (let v = 0; v < count; v++) if (rejected[v] === 0) histogram[sk[v] as number] = (histogram[sk[v] as number] as number) + 1;
    let cutoff = top + 1;
    let taken = 0;
    for (let a = top; a >= 1; a--) {
      const h = histogram[a] as number;
      if (h === 0) continue;
      if (taken + h > budget) break;
      taken += h;
      cutoff = a;
    }
    for (let v = 0; v < count; v++)
      if (rejected[v] === 0 && (sk[v] as number) >= cutoff) {
        rejected[v] = 1;
        rejectedCount++;
      }
    const observed = countSignFlip(prefix);
    // The threshold as a p: the exact p at the cutoff (0 when no vector could be rejected).
    const threshold = cutoff > top ? 0 : tailP(prefix, cutoff);
    if (firstRejectingLook === null && Math.abs(observed.sum) >= cutoff) firstRejectingLook = k + 1;
    perLook.push({ seeds, p: observed.p, threshold, spent: rejectedCount / count });
  }
  return {
    looks: [...looks],
    perLook,
    reject: firstRejectingLook !== null,
    firstRejectingLook,
    method: exact ? `exact over all 2^${n} sign vectors` : `Monte-Carlo over ${draws} seeded sign vectors`,
  };
}

export interface SequentialVerdict {
  readonly method: 'fixed' | 'group-sequential' | 'e-process';
  /** Whether "no effect" is rejected. */
  readonly reject: boolean;
  /** The p behind it: the exact sign-flip p of the current seeds (fixed, group-sequential), or 1/E (e-process). */
  readonly p: number;
  /** What p is compared with: alpha (fixed, e-process), or the current look's spent threshold (group-sequential). */
  readonly level: number;
  readonly reason: string;
}

/**
 * The test a comparison's verdict should use, given its per-seed integer `differences` in the order
 * the seeds entered (PeekCheck.order) and the number of seeds at each recorded look at this config
 * (ascending, the last = differences.length):
 * - one look: the exact sign-flip test at alpha (a fixed design);
 * - seeds added after a look, with `maxSeeds` declared before the first look: the group-sequential
 *   exact test (Pocock-type spending), which keeps most of the fixed test's power;
 * - seeds added after a look, nothing declared: the always-valid e-process at alpha (valid under any
 *   looks, recorded or not, at a large cost in power at a dozen seeds).
 */
export function sequentialVerdict(
  differences: readonly number[],
  looks: readonly number[],
  options: { readonly alpha?: number; readonly maxSeeds?: number } = {},
): SequentialVerdict {
  const { alpha = 0.05 } = options;
  const fmt = (x: number): string => String(Number(x.toPrecision(3)));
  if (looks.length === 0 || looks[looks.length - 1] !== differences.length)
    throw new RangeError(`the last look must be the ${differences.length} seeds compared, got [${looks.join(', ')}]`);
  if (looks.length === 1) {
    const p = countSignFlip(differences).p;
    return { method: 'fixed', reject: p <= alpha, p, level: alpha, reason: `one look: exact sign-flip p = ${fmt(p)} against ${alpha}` };
  }
  if (options.maxSeeds !== undefined) {
    const g = groupSequentialSignFlip(differences, looks, { maxSeeds: options.maxSeeds, alpha });
    const last = g.perLook[g.perLook.length - 1] as { p: number; threshold: number };
    return {
      method: 'group-sequential',
      reject: g.reject,
      p: last.p,
      level: last.threshold,
      reason: `${looks.length} looks (seeds ${looks.join(', ')} of at most ${options.maxSeeds}): ${g.reject ? `look ${g.firstRejectingLook} passed its spent threshold` : `no look passed its spent threshold (now p = ${fmt(last.p)} against ${fmt(last.threshold)})`}`,
    };
  }
  const e = signFlipEProcess(differences);
  return {
    method: 'e-process',
    reject: e.max >= 1 / alpha,
    p: Math.min(1, 1 / e.max),
    level: alpha,
    reason: `${looks.length} looks, seeds added after an earlier look and no maximum declared: always-valid e-value ${fmt(e.max)} (largest along the seeds) against ${fmt(1 / alpha)}`,
  };
}

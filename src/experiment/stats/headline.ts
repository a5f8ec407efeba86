/**
 * The verdicts: one headline metric (test accuracy when the data has a test split, else the final
 * epoch's validation accuracy), each declared contrast (an arm against its parent, primary; against
 * the baseline, secondary; or the family `--contrasts` states), from integer counts of images right.
 * Every other metric is descriptive only (compare.ts).
 *
 * How a verdict is reached, per contrast:
 * 1. The exact sign-flip p on the per-seed count differences (counts.ts): ties are integer ties.
 *    When seeds were added after an earlier recorded look at this config, that p is replaced by the
 *    sequential test's (sequential.ts): group-sequential when the first look declared a maximum
 *    (its --seeds) and the seeds stay within it, the always-valid e-process otherwise.
 * 2. The seeds x images interval and p (images.ts, S - 1 df) from each run's per-image bits: it adds
 *    the test images' sampling to the seeds' (the exact test answers "on these images" only).
 * 3. "better"/"worse" only when both reject: the verdict's p is the larger of the two (an
 *    intersection-union test, of level alpha whenever each is), Holm-adjusted over the family.
 *    Without bits (older run files) only 1 enters, and the contrast says so.
 * 4. Otherwise "equivalent within D" when the TOST at alpha / m (Bonferroni over the family, on the
 *    seeds x images estimate when there are bits, else on the per-seed counts) puts the whole
 *    interval inside +-D; else "inconclusive", with the width and what would narrow it.
 * Power: seeds needed for D and the effect detectable now, at Holm's alpha / m, with the range
 * from the SD's chi-square interval (power.ts).
 */
import { decodeBits, lastEpoch, type RunRecord } from '../record.js';
import { declaredFamily, holmAdjust, parseContrasts, type Contrast } from './contrasts.js';
import { countInterval, countSignFlip, signFlipInterval } from './counts.js';
import { tostCounts, tostCrossed, type EquivalenceResult } from './equivalence.js';
import { crossedInterval } from './images.js';
import { planSeeds, type SeedPlan } from './power.js';
import { seedsAddedAfterLook, sequentialVerdict, type Look } from './sequential.js';

export type HeadlineVerdict = 'better' | 'worse' | 'equivalent' | 'inconclusive';

/** One run's count on the headline metric. */
interface RunCount {
  readonly correct: number;
  readonly images: number;
  readonly bits?: Uint8Array;
  /** The count was recomputed from a stored accuracy (a file from before counts were kept). */
  readonly recomputed: boolean;
}

export interface HeadlineContrast extends Contrast {
  /** Seeds both arms finished (diverged runs excluded), in the order they entered. */
  readonly seeds: readonly number[];
  readonly images: number;
  /** Images right per seed, arm and reference. */
  readonly armCorrect: readonly number[];
  readonly referenceCorrect: readonly number[];
  /** arm - reference, images, per seed. */
  readonly differences: readonly number[];
  /** Mean difference in accuracy points. */
  readonly meanPoints: number;
  /** The exact sign-flip test and its inverted 95% interval (points): "on these test images". */
  readonly exact: { readonly p: number; readonly pFloor: number; readonly interval: readonly [number, number] | null };
  /** The per-seed t interval (points), for reference. */
  readonly tInterval: readonly [number, number] | null;
  /** Seeds x images (points); null without per-image bits. */
  readonly crossed: {
    readonly interval: readonly [number, number] | null;
    readonly p: number;
    readonly se: number;
    /** Share of the variance of the mean from the test images' sampling, 0..1. */
    readonly testImagesShare: number;
  } | null;
  /** Which test gave the exact p: 'fixed', 'group-sequential' or 'e-process'. */
  readonly sequential: { readonly method: string; readonly p: number; readonly reason: string };
  /** max(exact or sequential p, crossed p), before Holm. */
  readonly p: number;
  readonly pHolm: number;
  readonly verdict: HeadlineVerdict;
  readonly reason: string;
  readonly equivalence: EquivalenceResult | null;
  readonly power: SeedPlan | null;
  /** Things the reader must know: diverged runs excluded, counts recomputed, seeds added after a look. */
  readonly notes: readonly string[];
  /** True when a note makes the verdict one to read with care (diverged runs excluded). */
  readonly warning: boolean;
}

export interface HeadlineSet {
  readonly metric: 'test' | 'validation';
  readonly label: string;
  readonly images: number;
  readonly alpha: number;
  readonly effectPoints: number;
  readonly family: number;
  readonly familySource: 'declared by --contrasts' | 'each arm against its parent and the baseline';
  readonly decidedBy: string;
  readonly contrasts: readonly HeadlineContrast[];
}

export interface HeadlineOptions {
  readonly arms: readonly string[];
  readonly baseline: string;
  /** Each arm's parent (the arm without its one change); absent: the baseline. */
  readonly parents?: Readonly<Record<string, string>>;
  /** `--contrasts` as given; overrides the parent family. */
  readonly contrasts?: string;
  readonly alpha?: number;
  /** D, accuracy points. Default 1. */
  readonly effect?: number;
  /** Earlier recorded looks at this config, oldest first (store/looks.ts). */
  readonly looks?: readonly (Look & { readonly declaredSeeds?: number })[];
  /** Validation images, to recompute a validation count from an older file's accuracy. */
  readonly validationImages?: number;
  /** Compute the seeds-needed plans (~0.1-0.5 s a contrast: noncentral t integrals). Default true. */
  readonly power?: boolean;
}

export const HEADLINE_DECIDED_BY =
  'better/worse only when the exact sign-flip test on per-seed counts of test images right (sequential when seeds were added after a look) and the seeds x images interval (test-image sampling included) both reject: the larger p, Holm-adjusted over the declared contrasts; equivalent when the TOST interval lies within +-D';

/** The headline count of one run, or why there is none. */
function runCount(r: RunRecord, metric: 'test' | 'validation', validationImages?: number): RunCount | undefined {
  if (metric === 'test') {
    const t = r.test;
    if (t === undefined || !(t.images > 0)) return undefined;
    // float32 accuracy x images rounds back to the count exactly below 2^23 images.
    const correct = t.correct ?? Math.round(t.accuracy * t.images);
    if (!Number.isFinite(correct)) return undefined;
    let bits: Uint8Array | undefined;
    if (t.bits !== undefined) bits = decodeBits(t.bits, t.images);
    return { correct, images: t.images, ...(bits === undefined ? {} : { bits }), recomputed: t.correct === undefined };
  }
  const e = lastEpoch(r);
  if (e === undefined) return undefined;
  const images = e.valImages;
  if (e.valCorrect !== undefined && images !== undefined) return { correct: e.valCorrect, images, recomputed: false };
  if (validationImages === undefined || !Number.isFinite(e.valAccuracy)) return undefined;
  return { correct: Math.round(e.valAccuracy * validationImages), images: validationImages, recomputed: true };
}

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : 'n/a');
const pts = (x: number): string => `${x > 0 ? '+' : ''}${x.toFixed(2)} pts`;

/** The verdicts of the declared contrasts on the headline metric; undefined when no run has a count to compare. */
export function headlineVerdicts(runs: readonly RunRecord[], options: HeadlineOptions): HeadlineSet | undefined {
  const { alpha = 0.05, effect = 1 } = options;
  const metric: 'test' | 'validation' = runs.some((r) => r.test !== undefined) ? 'test' : 'validation';
  const family =
    options.contrasts === undefined
      ? declaredFamily(options.arms, options.baseline, options.parents ?? {})
      : parseContrasts(options.contrasts, options.arms);
  if (family.length === 0) return undefined;
  const m = family.length;
  const partial = family.map((c) => contrastCounts(runs, c, metric, options, alpha));
  const adjusted = holmAdjust(partial.map((c) => c.p));
  const contrasts = partial.map((c, i) => finish(c, adjusted[i] as number, { alpha, effect, m, power: options.power ?? true }));
  const images = partial.find((c) => c.images > 0)?.images ?? 0;
  return {
    metric,
    label: metric === 'test' ? 'test accuracy (scored once, after the last epoch)' : 'validation accuracy, final epoch (no test split)',
    images,
    alpha,
    effectPoints: effect,
    family: m,
    familySource: options.contrasts === undefined ? 'each arm against its parent and the baseline' : 'declared by --contrasts',
    decidedBy: HEADLINE_DECIDED_BY,
    contrasts,
  };
}

type Partial = Omit<HeadlineContrast, 'pHolm' | 'verdict' | 'reason' | 'equivalence' | 'power'> & {
  readonly crossedRaw: ReturnType<typeof crossedInterval> | null;
};

function contrastCounts(
  runs: readonly RunRecord[],
  c: Contrast,
  metric: 'test' | 'validation',
  options: HeadlineOptions,
  alpha: number,
): Partial {
  const notes: string[] = [];
  const of = (arm: string): Map<number, RunRecord> => new Map(runs.filter((r) => r.arm === arm).map((r) => [r.seed, r]));
  const mine = of(c.arm);
  const ref = of(c.reference);
  const diverged = [...mine.values(), ...ref.values()].filter(
    (r) => r.diverged !== undefined && (c.arm === r.arm ? ref : mine).has(r.seed),
  );
  if (diverged.length > 0)
    notes.push(
      `excluded ${diverged.length} diverged run(s): ${diverged.map((r) => `${r.arm} seed ${r.seed} (loss ${r.diverged?.loss} in epoch ${r.diverged?.epoch})`).join(', ')}; the comparison is over the other seeds`,
    );
  const pairs: Array<{ seed: number; a: RunCount; b: RunCount }> = [];
  for (const [seed, r] of mine) {
    const s = ref.get(seed);
    if (s === undefined || r.diverged !== undefined || s.diverged !== undefined) continue;
    const a = runCount(r, metric, options.validationImages);
    const b = runCount(s, metric, options.validationImages);
    if (a && b && a.images === b.images) pairs.push({ seed, a, b });
  }
  const looks = options.looks ?? [];
  const peek = seedsAddedAfterLook(
    looks,
    pairs.map((p) => p.seed),
  );
  const position = new Map(peek.order.map((s, i) => [s, i]));
  pairs.sort((x, y) => (position.get(x.seed) ?? 0) - (position.get(y.seed) ?? 0));
  if (pairs.some((p) => p.a.recomputed || p.b.recomputed))
    notes.push(
      'some run files predate kept counts: their counts are recomputed from the stored accuracy x images (exact below 2^23 images)',
    );
  const images = pairs[0]?.b.images ?? 0;
  const differences = pairs.map((p) => p.a.correct - p.b.correct);
  const withBits = pairs.length > 0 && pairs.every((p) => p.a.bits && p.b.bits);
  if (pairs.length > 0 && !withBits)
    notes.push('no per-image bits in some run files: the test images\u2019 sampling is not in the verdict');
  const crossedRaw =
    withBits && pairs.length >= 2 && images >= 2
      ? crossedInterval(pairs.map((p) => ({ arm: p.a.bits as Uint8Array, reference: p.b.bits as Uint8Array })))
      : null;
  const exactTest = countSignFlip(differences);
  const exactInterval = pairs.length > 0 ? signFlipInterval(differences, images) : null;
  const t = pairs.length > 0 ? countInterval(differences, images) : null;
  // The sequential correction when seeds entered after an earlier look.
  let sequential = { method: 'fixed', p: exactTest.p, reason: `one look: exact sign-flip p = ${fmt(exactTest.p)}` };
  if (peek.peeked) {
    notes.push(peek.note);
    const now = new Set(peek.order);
    const sizes = looks.map((l) => l.seeds.filter((s) => now.has(s)).length).filter((n) => n > 0 && n < pairs.length);
    const lookSizes = [...new Set([...sizes, pairs.length])].sort((a, b) => a - b);
    const declared = looks.find((l) => l.seeds.some((s) => now.has(s)))?.declaredSeeds;
    const v = sequentialVerdict(differences, lookSizes, {
      alpha,
      ...(declared !== undefined && declared >= pairs.length ? { maxSeeds: declared } : {}),
    });
    // Group-sequential compares p with its spent threshold: report the p that compares with alpha.
    const p =
      v.method === 'group-sequential' ? (v.reject ? Math.min(v.p, alpha) : Math.max(v.p, Math.min(1, (v.p * alpha) / v.level))) : v.p;
    sequential = { method: v.method, p, reason: v.reason };
  }
  const crossedP = crossedRaw && Number.isFinite(crossedRaw.p) ? crossedRaw.p : undefined;
  return {
    ...c,
    seeds: pairs.map((p) => p.seed),
    images,
    armCorrect: pairs.map((p) => p.a.correct),
    referenceCorrect: pairs.map((p) => p.b.correct),
    differences,
    meanPoints: t?.meanPoints ?? Number.NaN,
    exact: { p: exactTest.p, pFloor: exactTest.pFloor, interval: exactInterval?.points ?? null },
    tInterval: t?.points ?? null,
    crossed: crossedRaw && {
      interval: crossedRaw.interval,
      p: crossedRaw.p,
      se: crossedRaw.se,
      testImagesShare: crossedRaw.shares.images,
    },
    crossedRaw,
    sequential,
    p: pairs.length === 0 ? 1 : Math.max(sequential.p, crossedP ?? 0),
    notes,
    warning: diverged.length > 0,
  };
}

function finish(c: Partial, pHolm: number, o: { alpha: number; effect: number; m: number; power: boolean }): HeadlineContrast {
  const { crossedRaw, ...rest } = c;
  const n = c.differences.length;
  const sum = c.differences.reduce((a, b) => a + b, 0);
  let equivalence: EquivalenceResult | null = null;
  if (n >= 2 && c.images > 0) {
    const a = o.alpha / o.m;
    equivalence =
      crossedRaw && Number.isFinite(crossedRaw.se)
        ? tostCrossed(crossedRaw, o.effect, { alpha: a })
        : tostCounts(c.differences, c.images, o.effect, { alpha: a });
  }
  const t = n >= 2 ? countInterval(c.differences, c.images) : null;
  const power = t && o.power ? planSeeds(t.sdImages * t.pointsPerImage, n, o.effect, { alpha: o.alpha, family: o.m }) : null;
  const holmText = `p = ${fmt(c.p)} (${c.crossed ? `the larger of exact ${c.sequential.method === 'fixed' ? '' : `${c.sequential.method} `}${fmt(c.sequential.p)} and seeds x images ${fmt(c.crossed.p)}` : `exact${c.sequential.method === 'fixed' ? '' : ` ${c.sequential.method}`}`}), Holm over ${o.m} contrast(s) ${fmt(pHolm)}`;
  let verdict: HeadlineVerdict = 'inconclusive';
  let reason: string;
  if (n === 0) reason = 'no seed was finished by both arms';
  else if (pHolm <= o.alpha && sum !== 0) {
    verdict = sum > 0 ? 'better' : 'worse';
    reason = `${holmText} <= ${o.alpha}`;
  } else if (equivalence?.verdict === 'equivalent') {
    verdict = 'equivalent';
    reason = `equivalent within ${o.effect} pts: the ${Math.round(100 * equivalence.level)}% interval [${pts(equivalence.interval[0])}, ${pts(equivalence.interval[1])}] lies inside +-${o.effect} (TOST at ${fmt(o.alpha / o.m)}); ${holmText}`;
  } else {
    const floor = c.exact.pFloor > o.alpha / o.m ? `; with ${n} seeds the exact p cannot go below ${fmt(c.exact.pFloor)}` : '';
    reason = `${holmText} > ${o.alpha}${floor}${equivalence ? `; not equivalent either: ${equivalence.reason}` : ''}`;
  }
  return { ...rest, pHolm, verdict, reason, equivalence, power };
}

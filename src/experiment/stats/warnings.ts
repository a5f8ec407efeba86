/**
 * What a reader must know before believing a table: too few seeds for any verdict, a validation
 * split so small that one image moves accuracy by more than the effect of interest, curves still
 * rising at the last epoch, an arm whose operator barely acted, an arm at chance (it learned
 * nothing, or memorised the training set). Computed from RunRecords, the split sizes and the class
 * count alone, so a report rebuilt from stored runs says the same.
 */
import { signFlipSeeds, type ComparisonSet } from './compare.js';
import type { HeadlineSet } from './headline.js';
import type { RunRecord } from '../record.js';
import { meanSd } from './meanSd.js';
import { tQuantile } from './tdist.js';

export interface AblationWarning {
  /** Stable key for tests and tools: 'few-seeds', 'few-validation-images', 'still-rising', 'arm-barely-acted', 'at-chance'. */
  readonly kind: string;
  readonly arm?: string;
  readonly message: string;
}

export interface WarningInput {
  readonly runs: readonly RunRecord[];
  readonly arms: readonly string[];
  readonly validationCount: number;
  readonly comparisons?: ComparisonSet;
  /** The verdicts: when there are, the seed floor is their family's (Holm over m contrasts), not the arms'. */
  readonly headline?: HeadlineSet;
  /** Arms whose mixing barely acted (stats/mixing.ts's barelyActed, from the counts train/mixstats.ts keeps per run). */
  readonly barelyActed?: ReadonlyArray<{ readonly arm: string; readonly why: string }>;
  /** The number of classes (chance is one in this many); without it, no chance warning. */
  readonly classes?: number;
}

/** Points of accuracy one validation image is worth. */
export const pointsPerImage = (images: number): number => (images > 0 ? 100 / images : Number.NaN);

/** Mean validation accuracy per epoch across an arm's runs. */
/**
 * How much one run's val accuracy still rose over its last k epochs, in points: the least-squares
 * slope over those epochs times their span (a slope, so one lucky last epoch does not decide it).
 */
function lateRise(run: RunRecord, k: number): number {
  const ys = run.epochs.slice(-k).map((e) => 100 * e.valAccuracy);
  const xMean = (ys.length - 1) / 2;
  const yMean = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  ys.forEach((y, x) => {
    sxy += (x - xMean) * (y - yMean);
    sxx += (x - xMean) ** 2;
  });
  return sxx > 0 ? (sxy / sxx) * (ys.length - 1) : 0;
}

/** The fewest seeds behind a verdict and the seeds the sign-flip floor 2 / 2^n needs to pass Holm's first step: the verdicts' family when there are verdicts, else the arms against the baseline. */
function seedFloor(
  headline: HeadlineSet | undefined,
  set: ComparisonSet | undefined,
): { n: number; need: number; alpha: number; m: number } | undefined {
  if (headline !== undefined && headline.contrasts.length > 0) {
    const n = Math.min(...headline.contrasts.map((c) => c.seeds.length));
    return { n, need: signFlipSeeds(headline.alpha, headline.family), alpha: headline.alpha, m: headline.family };
  }
  const first = set?.comparisons.filter((c) => c.metric === set.comparisons[0]?.metric) ?? [];
  const need = first[0]?.seedsNeeded.signFlip;
  const n = Math.min(...first.map((c) => c.n));
  return set === undefined || need === undefined || !Number.isFinite(n) ? undefined : { n, need, alpha: set.alpha, m: first.length };
}

export function ablationWarnings(input: WarningInput): AblationWarning[] {
  const out: AblationWarning[] = [];
  const set = input.comparisons;
  const floor = seedFloor(input.headline, set);
  if (floor !== undefined && floor.n < floor.need)
    out.push({
      kind: 'few-seeds',
      message: `${floor.n} paired seed(s): the exact sign-flip test cannot reach p < ${floor.alpha} after Holm over ${floor.m} contrast(s) with fewer than ${floor.need}; every verdict is inconclusive by construction (--seeds ${floor.need} or more)`,
    });
  const ppi = pointsPerImage(input.validationCount);
  const effect = set?.effectPoints ?? 1;
  const coarse = (what: string, images: number, flag: string): AblationWarning => ({
    kind: `few-${what}-images`,
    message: `${images} ${what} images: one image is ${pointsPerImage(images).toFixed(2)} accuracy points, more than half the effect of interest (${effect} point${effect === 1 ? '' : 's'}); use more data or a larger ${flag}`,
  });
  if (ppi > effect / 2) out.push(coarse('validation', input.validationCount, '--val-split'));
  // The test split, scored once at the end, is the headline when there is one: its resolution matters as much.
  const testImages = Math.max(0, ...input.runs.map((r) => r.test?.images ?? 0));
  if (testImages > 0 && pointsPerImage(testImages) > effect / 2) out.push(coarse('test', testImages, '--test-split'));
  for (const arm of input.arms) {
    // Rising: the late rise is more than a point (and more than one image) on average, and with
    // several seeds its 95% t interval excludes 0, so seed-to-seed noise on a flat curve is not a rise.
    const runs = input.runs.filter((r) => r.arm === arm);
    const epochs = Math.min(...runs.map((r) => r.epochs.length));
    if (runs.length === 0 || epochs < 4) continue;
    const k = Math.max(3, Math.floor(epochs / 4));
    const rises = runs.map((r) => lateRise(r, k));
    const n = rises.length;
    const { mean: rise, sd } = meanSd(rises);
    const low = n > 1 ? rise - tQuantile(0.975, n - 1) * (sd / Math.sqrt(n)) : rise;
    if (rise > Math.max(1, ppi) && low > 0)
      out.push({
        kind: 'still-rising',
        arm,
        message: `${arm}: val accuracy still rising at the last epoch (+${rise.toFixed(1)} points over the last ${k} epochs, mean over ${n} seed(s)); the arms are compared before they converge (more --epochs)`,
      });
  }
  if (input.classes !== undefined) out.push(...atChance(input.runs, input.arms, input.classes, input.validationCount));
  for (const b of input.barelyActed ?? [])
    out.push({ kind: 'arm-barely-acted', arm: b.arm, message: `${b.arm}: the operator barely acted (${b.why})` });
  return out;
}

/** Accuracy within this many points of chance (or two images, when coarser) counts as chance. */
const CHANCE_MARGIN_POINTS = 5;
/** Training above validation by this many points, with validation at chance: memorised. */
const MEMORISED_GAP_POINTS = 30;

/**
 * Arms whose last-epoch validation accuracy, or test accuracy, averaged over seeds, is at or near
 * chance (1 / classes): a model that learned nothing, or that memorised the training set (a large
 * train/validation gap), gives numbers whose comparisons mean nothing.
 */
export function atChance(runs: readonly RunRecord[], arms: readonly string[], classes: number, validationCount: number): AblationWarning[] {
  if (!(classes >= 2)) return [];
  const chance = 100 / classes;
  const near = chance + Math.max(CHANCE_MARGIN_POINTS, 2 * pointsPerImage(validationCount) || 0);
  const out: AblationWarning[] = [];
  for (const arm of arms) {
    const mine = runs.filter((r) => r.arm === arm && r.epochs.length > 0);
    if (mine.length === 0) continue;
    const last = mine.map((r) => r.epochs[r.epochs.length - 1]!);
    const val = meanSd(last.map((e) => 100 * e.valAccuracy)).mean;
    const train = meanSd(last.map((e) => 100 * e.accuracy)).mean;
    const tests = mine.flatMap((r) => (r.test ? [100 * r.test.accuracy] : []));
    const test = tests.length > 0 ? meanSd(tests).mean : undefined;
    const where = [
      ...(val <= near ? [`validation ${val.toFixed(1)}%`] : []),
      ...(test !== undefined && test <= near ? [`test ${test.toFixed(1)}%`] : []),
    ];
    if (where.length === 0) continue;
    const memorised =
      val <= near && train - val >= MEMORISED_GAP_POINTS
        ? `, while training accuracy is ${train.toFixed(1)}% (memorised, not learned)`
        : '';
    out.push({
      kind: 'at-chance',
      arm,
      message: `${arm}: accuracy at chance (${where.join(', ')}; chance is ${chance.toFixed(1)}% for ${classes} classes${memorised}): the model learned nothing that generalises, and no comparison with this arm means anything (check the data, --lr, --epochs)`,
    });
  }
  return out;
}

/**
 * The regime the reference arm trained in, from its runs alone: does it fit its training images
 * much better than it generalises (a train/validation gap a regulariser can close), or not (then
 * augmentation, CutMix and Mixup have little to gain, and a null result says little about them)?
 * Both accuracies are the last epoch's: training accuracy as tfjs reports it (the running mean
 * over that epoch's batches, in training mode), validation after the epoch.
 */
import type { RunRecord } from '../record.js';
import { meanSd } from './meanSd.js';
import { tQuantile } from './tdist.js';

/** A gap whose 95% interval lies above this many points (or two validation images, if coarser) is overfitting. */
export const OVERFIT_GAP_POINTS = 5;

export interface Regime {
  readonly arm: string;
  readonly seeds: number;
  /** Means over seeds, in points. */
  readonly train: number;
  readonly validation: number;
  /** train - validation, mean over seeds, and its 95% t interval (points; the mean alone with one seed). */
  readonly gap: number;
  readonly gapInterval: readonly [number, number];
  readonly overfits: boolean;
  readonly message: string;
}

const pts = (v: number): string => v.toFixed(1);

/** The regime of `arm` (the reference) over its runs' last epochs; undefined when it has none. */
export function trainingRegime(runs: readonly RunRecord[], arm: string, validationCount: number): Regime | undefined {
  const last = runs.filter((r) => r.arm === arm && r.epochs.length > 0).map((r) => r.epochs[r.epochs.length - 1]!);
  const n = last.length;
  if (n === 0) return undefined;
  const train = meanSd(last.map((e) => 100 * e.accuracy)).mean;
  const validation = meanSd(last.map((e) => 100 * e.valAccuracy)).mean;
  const gaps = meanSd(last.map((e) => 100 * (e.accuracy - e.valAccuracy)));
  const half = n > 1 ? tQuantile(0.975, n - 1) * (gaps.sd / Math.sqrt(n)) : 0;
  const gapInterval = [gaps.mean - half, gaps.mean + half] as const;
  const threshold = Math.max(OVERFIT_GAP_POINTS, validationCount > 0 ? 200 / validationCount : 0);
  const overfits = n > 1 && gapInterval[0] > threshold;
  const seen = `${arm} trains to ${pts(train)}% and validates at ${pts(validation)}% (last epoch, mean over ${n} seed(s)): a gap of ${pts(gaps.mean)} points${n > 1 ? ` (95% interval ${pts(gapInterval[0])} to ${pts(gapInterval[1])})` : ''}`;
  const message = overfits
    ? `Regime: ${seen}. It overfits, the regime in which a regulariser (augmentation, CutMix, Mixup) can help.`
    : n === 1
      ? `Regime: ${seen}; one seed cannot say whether it overfits.`
      : `Regime: ${seen}. That is not clearly above ${pts(threshold)} points: ${arm} does not overfit much, so a regulariser has little gap to close here, and a null result says little about it in general.`;
  return { arm, seeds: n, train, validation, gap: gaps.mean, gapInterval, overfits, message };
}

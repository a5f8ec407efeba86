/**
 * What the mixing arms really did, read off the batches the model trained on (so it holds for any
 * operator, ours or a user's): for each batch, lambda = the smallest weight any sample's own label
 * keeps in its target row. CutMix and Mixup give every sample whose partner has another class
 * exactly the batch's lambda, so this is the drawn lambda (per-sample mode: the batch's smallest);
 * an unmixed batch gives 1. Beta(alpha, alpha) is symmetric, so the histogram is of
 * max(lambda, 1 - lambda): 0.5 is an even blend, near 1 the batch was barely touched either way.
 */
import type { Batch } from '../../core/types.js';
import type { MixingStats } from '../record.js';

export const HISTOGRAM_BINS = 20;

/** The batch's lambda as defined above; undefined when the batch has no soft targets. */
export function batchLambda(b: Batch): number | undefined {
  const t = b.targets;
  if (!t) return undefined;
  let min = 1;
  for (let i = 0; i < b.labels.length; i++) min = Math.min(min, t[i * b.numClasses + (b.labels[i] as number)] as number);
  return min;
}

/** Accumulates MixingStats over the batches it is shown. */
export class MixingObserver {
  private batches = 0;
  private mixed = 0;
  private barely = 0;
  private readonly bins = new Array<number>(HISTOGRAM_BINS).fill(0);

  /** Starts from `from` (a resumed run's counts so far), or from nothing. */
  constructor(from?: MixingStats) {
    if (from === undefined) return;
    this.batches = from.batches;
    this.mixed = from.mixedBatches;
    this.barely = from.barelyMixedBatches;
    from.histogram.forEach((n, i) => (this.bins[i] = n));
  }

  add(b: Batch): void {
    this.batches++;
    const lambda = batchLambda(b);
    if (lambda === undefined || lambda >= 1 - 1e-6) return;
    this.mixed++;
    const m = Math.max(lambda, 1 - lambda);
    if (m > 0.99) this.barely++;
    const bin = Math.min(HISTOGRAM_BINS - 1, Math.floor((m - 0.5) * 2 * HISTOGRAM_BINS));
    this.bins[bin] = (this.bins[bin] as number) + 1;
  }

  stats(): MixingStats {
    return { batches: this.batches, mixedBatches: this.mixed, barelyMixedBatches: this.barely, histogram: [...this.bins] };
  }
}

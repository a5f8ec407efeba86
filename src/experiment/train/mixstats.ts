/**
 * What the mixing arms really did, read off the batches the model trained on (so it holds for any
 * operator, ours or a user's): for each batch, lambda = the smallest weight any sample's own label
 * keeps in its target row. CutMix and Mixup give every sample whose partner has another class
 * exactly the batch's lambda, so this is the drawn lambda (per-sample mode: the batch's smallest);
 * an unmixed batch gives 1. Beta(alpha, alpha) is symmetric, so the histogram is of
 * max(lambda, 1 - lambda): 0.5 is an even blend, near 1 the batch was barely touched either way.
 */
import type { Batch } from '../../core/types.js';

/** Per-run counts; `histogram[i]` counts batches with max(lambda, 1 - lambda) in [0.5 + i/40, 0.5 + (i+1)/40), the last bin closed. */
export interface MixingStats {
  readonly batches: number;
  /** Batches in which some label mass moved (lambda < 1 - 1e-6). */
  readonly mixedBatches: number;
  /** Mixed batches whose blend was negligible: max(lambda, 1 - lambda) > 0.99. */
  readonly barelyMixedBatches: number;
  readonly histogram: readonly number[];
}

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

/** Arms whose operator barely acted: mixed in fewer than 5% of batches although it mixes at all, or blended negligibly in most mixed batches. */
export function barelyActed(
  runs: ReadonlyArray<{ readonly arm: string; readonly mixing?: MixingStats }>,
): Array<{ arm: string; why: string }> {
  const byArm = new Map<string, MixingStats[]>();
  for (const r of runs) if (r.mixing) byArm.set(r.arm, [...(byArm.get(r.arm) ?? []), r.mixing]);
  const out: Array<{ arm: string; why: string }> = [];
  for (const [arm, list] of byArm) {
    const batches = list.reduce((a, s) => a + s.batches, 0);
    const mixed = list.reduce((a, s) => a + s.mixedBatches, 0);
    const barely = list.reduce((a, s) => a + s.barelyMixedBatches, 0);
    if (mixed === 0) continue; // an arm that never mixes is not a mixing arm
    if (mixed - barely < 0.5 * batches)
      out.push({
        arm,
        why: `${pct(barely / batches)} of batches had lambda above 0.99 (or below 0.01), ${pct((batches - mixed) / batches)} were not mixed at all`,
      });
  }
  return out;
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

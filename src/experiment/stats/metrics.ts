/**
 * The per-run numbers arms are compared on, each read from one RunRecord alone (so a report rebuilt
 * from stored runs computes the same). The final epoch is the noisiest; the mean of the last k
 * epochs smooths epoch-to-epoch jitter; the best epoch is chosen on validation and so is optimistic
 * (it picks on the split it reports); a test split, scored once at the end, is the honest one.
 */
import { lastEpoch, type RunRecord } from '../record.js';

/** A headline metric: how to read it from a run and which way is better. */
export interface RunMetric {
  /** Key in results.json, e.g. 'lastKValAccuracy'. */
  readonly key: string;
  /** For people: 'val accuracy, mean of last 3 epochs'. */
  readonly label: string;
  readonly higherIsBetter: boolean;
  /** Accuracies are fractions (shown as points); losses are not. */
  readonly kind: 'accuracy' | 'loss';
  /** The value of one run, NaN when the run does not have it. */
  readonly of: (run: RunRecord) => number;
}

/** The epoch (from 1) with the highest validation accuracy; the first one on ties. */
export function bestEpoch(run: RunRecord): number {
  let best = 0;
  for (const [i, e] of run.epochs.entries()) if (e.valAccuracy > (run.epochs[best]?.valAccuracy ?? -Infinity)) best = i;
  return best + 1;
}

/** Mean validation accuracy over the last k epochs (fewer when the run has fewer). */
export function lastKValAccuracy(run: RunRecord, k: number): number {
  const tail = run.epochs.slice(-k);
  return tail.length === 0 ? Number.NaN : tail.reduce((a, e) => a + e.valAccuracy, 0) / tail.length;
}

/** The metrics compared, headline first; `lastK` epochs for the smoothed one (default 3). */
export function runMetrics(lastK = 3): RunMetric[] {
  if (!Number.isInteger(lastK) || lastK < 1) throw new RangeError(`last-k must be a positive integer, got ${lastK}`);
  return [
    {
      key: 'testAccuracy',
      label: 'test accuracy (scored once, after the last epoch)',
      higherIsBetter: true,
      kind: 'accuracy',
      of: (r) => r.test?.accuracy ?? Number.NaN,
    },
    {
      key: 'lastKValAccuracy',
      label: `val accuracy, mean of last ${lastK} epochs`,
      higherIsBetter: true,
      kind: 'accuracy',
      of: (r) => lastKValAccuracy(r, lastK),
    },
    {
      key: 'finalValAccuracy',
      label: 'val accuracy, final epoch',
      higherIsBetter: true,
      kind: 'accuracy',
      of: (r) => lastEpoch(r)?.valAccuracy ?? Number.NaN,
    },
    {
      key: 'bestValAccuracy',
      label: 'val accuracy, best epoch (chosen on val: optimistic)',
      higherIsBetter: true,
      kind: 'accuracy',
      of: (r) => r.epochs[bestEpoch(r) - 1]?.valAccuracy ?? Number.NaN,
    },
    {
      key: 'finalValLoss',
      label: 'val loss, final epoch',
      higherIsBetter: false,
      kind: 'loss',
      of: (r) => lastEpoch(r)?.valLoss ?? Number.NaN,
    },
  ];
}

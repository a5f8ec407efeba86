/**
 * Everything results.json says about the runs beyond their raw numbers, from a list of RunRecords
 * alone (plus the split sizes): a report rebuilt from a run store calls this and gets the same.
 */
import { compareArms, separationEpoch, type ComparisonSet } from './compare.js';
import { barelyActed } from './mixing.js';
import type { RunRecord } from '../record.js';
import { ablationWarnings, type AblationWarning } from './warnings.js';
import { defined } from '../../core/idioms.js';

export interface AnalysisOptions {
  readonly arms: readonly string[];
  readonly baseline?: string;
  /** Accuracy points (--effect). */
  readonly effect?: number;
  readonly validationCount: number;
}

export interface Analysis {
  readonly comparisons: ComparisonSet;
  readonly warnings: readonly AblationWarning[];
  /** Per compared arm: the first epoch its val accuracy separates from the reference (see separationEpoch). */
  readonly separation: ReadonlyArray<{ readonly arm: string; readonly epoch: number | null }>;
}

/** Comparisons (only arms with runs) and warnings of the given runs. */
export function analyzeRuns(runs: readonly RunRecord[], options: AnalysisOptions): Analysis {
  const comparisons = compareArms(runs, {
    arms: options.arms,
    ...defined({ baseline: options.baseline }),
    ...defined({ effect: options.effect }),
  });
  const warnings = ablationWarnings({
    runs,
    arms: options.arms,
    validationCount: options.validationCount,
    comparisons,
    barelyActed: barelyActed(runs),
  });
  const separation = options.arms
    .filter((a) => a !== comparisons.baseline)
    .map((arm) => ({ arm, epoch: separationEpoch(runs, arm, comparisons.baseline) }));
  return { comparisons, warnings, separation };
}

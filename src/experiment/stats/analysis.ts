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
  /** The number of classes: an arm at chance (1 / classes) is warned of, and no verdict on it stands. */
  readonly classes?: number;
}

export interface Analysis {
  readonly comparisons: ComparisonSet;
  readonly warnings: readonly AblationWarning[];
  /** Per compared arm: the first epoch its val accuracy separates from the reference (see separationEpoch). */
  readonly separation: ReadonlyArray<{ readonly arm: string; readonly epoch: number | null }>;
}

/** Comparisons (only arms with runs) and warnings of the given runs. */
export function analyzeRuns(runs: readonly RunRecord[], options: AnalysisOptions): Analysis {
  const compared = compareArms(runs, {
    arms: options.arms,
    ...defined({ baseline: options.baseline }),
    ...defined({ effect: options.effect }),
  });
  const warnings = ablationWarnings({
    runs,
    arms: options.arms,
    validationCount: options.validationCount,
    comparisons: compared,
    barelyActed: barelyActed(runs),
    ...(options.classes === undefined ? {} : { classes: options.classes }),
  });
  const comparisons = withoutChanceVerdicts(compared, warnings);
  const separation = options.arms
    .filter((a) => a !== comparisons.baseline)
    .map((arm) => ({ arm, epoch: separationEpoch(runs, arm, comparisons.baseline) }));
  return { comparisons, warnings, separation };
}

/** The comparisons, with every one whose arm or reference is at chance made inconclusive, saying why. */
function withoutChanceVerdicts(set: ComparisonSet, warnings: readonly AblationWarning[]): ComparisonSet {
  const chance = new Set(warnings.filter((w) => w.kind === 'at-chance').map((w) => w.arm));
  if (chance.size === 0) return set;
  return {
    ...set,
    comparisons: set.comparisons.map((c) => {
      const which = chance.has(set.baseline) ? set.baseline : chance.has(c.arm) ? c.arm : undefined;
      return which === undefined
        ? c
        : { ...c, verdict: 'inconclusive', reason: `${which} is at chance accuracy: no verdict means anything` };
    }),
  };
}

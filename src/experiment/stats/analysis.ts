/**
 * Everything results.json says about the runs beyond their raw numbers, from a list of RunRecords
 * alone (plus the split sizes, the arms' parents and the recorded looks): a report rebuilt from a
 * run store calls this and gets the same.
 */
import { compareArms, type ComparisonSet } from './compare.js';
import { headlineVerdicts, type HeadlineSet } from './headline.js';
import { barelyActed } from './mixing.js';
import type { RunRecord } from '../record.js';
import type { Look } from './sequential.js';
import { trainingRegime, type Regime } from './regime.js';
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
  /** Each arm's parent (plan/arms.ts Arm.parent). */
  readonly parents?: Readonly<Record<string, string>>;
  /** --contrasts as given. */
  readonly contrasts?: string;
  /** Earlier looks at this config (store/looks.ts), oldest first. */
  readonly looks?: readonly (Look & { readonly declaredSeeds?: number })[];
}

export interface Analysis {
  /** The verdicts: the headline metric, the declared contrasts, from counts (headline.ts). */
  readonly headline?: HeadlineSet;
  /** Every metric against the baseline: descriptive (their verdicts are per metric, not the answer). */
  readonly comparisons: ComparisonSet;
  readonly warnings: readonly AblationWarning[];
  /** The reference arm's train/validation gap: overfitting or not (regime.ts). */
  readonly regime?: Regime;
}

/** Verdicts, descriptive comparisons (only arms with runs) and warnings of the given runs. */
export function analyzeRuns(runs: readonly RunRecord[], options: AnalysisOptions): Analysis {
  const compared = compareArms(
    runs.filter((r) => r.diverged === undefined),
    {
      arms: options.arms,
      ...(options.baseline === undefined ? {} : { baseline: options.baseline }),
      ...(options.effect === undefined ? {} : { effect: options.effect }),
    },
  );
  const headline = headlineVerdicts(runs, {
    arms: options.arms,
    baseline: compared.baseline,
    ...(options.parents === undefined ? {} : { parents: validParents(options.parents, options.arms, compared.baseline) }),
    ...(options.contrasts === undefined ? {} : { contrasts: options.contrasts }),
    ...(options.effect === undefined ? {} : { effect: options.effect }),
    ...(options.looks === undefined ? {} : { looks: options.looks }),
    validationImages: options.validationCount,
  });
  const diverged = runs.filter((r) => r.diverged !== undefined);
  const warnings = [
    ...ablationWarnings({
      runs: runs.filter((r) => r.diverged === undefined),
      arms: options.arms,
      validationCount: options.validationCount,
      comparisons: compared,
      ...defined({ headline }),
      barelyActed: barelyActed(runs),
      ...defined({ classes: options.classes }),
    }),
    ...diverged.map((r) => ({
      kind: 'diverged',
      message: `${r.arm} seed ${r.seed} diverged (loss ${r.diverged?.loss} in epoch ${r.diverged?.epoch}): excluded from its contrasts, which say so`,
    })),
  ] as AblationWarning[];
  const comparisons = withoutChanceVerdicts(compared, warnings);
  const regime = trainingRegime(
    runs.filter((r) => r.diverged === undefined),
    compared.baseline,
    options.validationCount,
  );
  return { ...defined({ headline, regime }), comparisons, warnings };
}

/** Parents among the arms run (an arm run without its parent is contrasted with the baseline). */
function validParents(parents: Readonly<Record<string, string>>, arms: readonly string[], baseline: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arm of arms) {
    let p = parents[arm];
    // Up the chain to the nearest ancestor that ran (cutmix-sample -> cutmix -> augment -> baseline).
    const seen = new Set<string>();
    while (p !== undefined && !arms.includes(p) && !seen.has(p)) {
      seen.add(p);
      p = parents[p];
    }
    if (p !== undefined && arms.includes(p) && p !== arm && arm !== baseline) out[arm] = p;
  }
  return out;
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

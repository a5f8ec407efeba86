/**
 * Results that mean nothing are said so (issue 23, item 4): an arm at or near chance on validation
 * or test, or at 99% training and chance validation (memorised), is warned of by analyzeRuns (so
 * in the terminal and the report alike), and no comparison with it keeps a verdict.
 */
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/experiment/record.js';
import { analyzeRuns } from '../../src/experiment/stats/analysis.js';
import { comparisonText } from '../../src/report/comparison.js';
import { valRun } from '../helpers.js';

/** `arm` over seeds 1..n with the given last-epoch train and val accuracy (4 epochs each). */
const runs = (arm: string, n: number, train: number, val: (seed: number) => number, test?: number): RunRecord[] =>
  Array.from({ length: n }, (_, i) => {
    const r = valRun(arm, i + 1, [val(i + 1), val(i + 1), val(i + 1), val(i + 1)]);
    return {
      ...r,
      epochs: r.epochs.map((e) => ({ ...e, accuracy: train })),
      ...(test === undefined ? {} : { test: { loss: 1, accuracy: test, images: 400 } }),
    };
  });

describe('warnings for results that mean nothing', () => {
  it('arms at chance (4 classes, 25%) are warned of; the comparison is not given a verdict as if informative', () => {
    const all = [...runs('baseline', 6, 0.25, () => 0.25), ...runs('cutmix', 6, 0.25, () => 0.25)];
    const a = analyzeRuns(all, { arms: ['baseline', 'cutmix'], validationCount: 400, classes: 4 });
    expect(a.warnings.filter((w) => w.kind === 'at-chance').map((w) => w.arm)).toEqual(['baseline', 'cutmix']);
    expect(a.warnings[a.warnings.length - 1]?.message).toMatch(
      /cutmix: accuracy at chance \(validation 25\.0%; chance is 25\.0% for 4 classes\)/,
    );
    const c = a.comparisons.comparisons.find((x) => x.arm === 'cutmix')!;
    expect(c.verdict).toBe('inconclusive');
    expect(c.reason).toBe('baseline is at chance accuracy: no verdict means anything');
    expect(c.reason).not.toMatch(/reference's numbers/);
    expect(comparisonText(a.comparisons, a.warnings)).toMatch(/warning: baseline: accuracy at chance/);
  });

  it('99% training and chance validation is called memorised', () => {
    const all = [...runs('baseline', 6, 0.8, (s) => 0.7 + s / 100), ...runs('mobilenet', 6, 0.99, () => 0.26)];
    const a = analyzeRuns(all, { arms: ['baseline', 'mobilenet'], validationCount: 400, classes: 4 });
    const w = a.warnings.filter((x) => x.kind === 'at-chance');
    expect(w.map((x) => x.arm)).toEqual(['mobilenet']);
    expect(w[0]?.message).toMatch(/training accuracy is 99\.0% \(memorised, not learned\)/);
    expect(a.comparisons.comparisons.find((x) => x.arm === 'mobilenet')?.reason).toBe(
      'mobilenet is at chance accuracy: no verdict means anything',
    );
  });

  it('chance on the test split alone is warned of too; an arm well above chance is not', () => {
    const all = [...runs('baseline', 6, 0.9, () => 0.8, 0.85), ...runs('mixup', 6, 0.9, () => 0.8, 0.27)];
    const a = analyzeRuns(all, { arms: ['baseline', 'mixup'], validationCount: 400, classes: 4 });
    expect(a.warnings.filter((x) => x.kind === 'at-chance').map((x) => x.message)).toEqual([
      expect.stringMatching(/^mixup: accuracy at chance \(test 27\.0%/) as unknown,
    ]);
  });
});

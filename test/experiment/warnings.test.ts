import { firstValueFrom, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/core/types.js';
import { analyzeRuns } from '../../src/experiment/stats/analysis.js';
import { barelyActed } from '../../src/experiment/stats/mixing.js';
import { batchLambda, MixingObserver } from '../../src/experiment/train/mixstats.js';
import { mixup } from '../../src/operators/mixup.js';
import { valRun as run } from '../helpers.js';

const batchOf = (labels: number[], numClasses: number, targets?: number[]): Batch => ({
  images: new Float32Array(labels.map((l) => l)),
  shape: [labels.length, 1, 1, 1],
  labels: Int32Array.from(labels),
  ...(targets ? { targets: Float32Array.from(targets) } : {}),
  numClasses,
  epoch: 0,
  index: 0,
});

describe('mixing statistics', () => {
  it("reads the batch's lambda off the targets, and mixup's lambda is the image blend's", async () => {
    expect(batchLambda(batchOf([0, 1], 2))).toBeUndefined();
    expect(batchLambda(batchOf([0, 1], 2, [1, 0, 0, 1]))).toBe(1);
    expect(batchLambda(batchOf([0, 1], 2, [0.7, 0.3, 0.3, 0.7]))).toBeCloseTo(0.7, 6);
    for (let seed = 0; seed < 10; seed++) {
      const out = await firstValueFrom(
        of(batchOf([0, 1, 2, 3], 4, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).pipe(mixup({ alpha: 1, seed })),
      );
      const lambda = batchLambda(out)!;
      // image i = lambda * i + (1 - lambda) * partner(i); some partner differs unless the permutation is the identity.
      for (let i = 0; i < 4; i++) {
        const partner = (out.images[i]! - lambda * i) / (1 - lambda || 1);
        if (lambda < 1) expect(Math.abs(partner - Math.round(partner))).toBeLessThan(1e-4);
      }
    }
  });

  it('counts mixed and barely mixed batches and warns when most batches were barely mixed', () => {
    const o = new MixingObserver();
    o.add(batchOf([0, 1], 2, [1, 0, 0, 1]));
    o.add(batchOf([0, 1], 2, [0.995, 0.005, 0.005, 0.995]));
    o.add(batchOf([0, 1], 2, [0.004, 0.996, 0.996, 0.004]));
    o.add(batchOf([0, 1], 2, [0.6, 0.4, 0.4, 0.6]));
    const s = o.stats();
    expect(s).toMatchObject({ batches: 4, mixedBatches: 3, barelyMixedBatches: 2 });
    expect(s.histogram.reduce((a, b) => a + b, 0)).toBe(3);
    expect(s.histogram[19]).toBe(2);
    expect(s.histogram[4]).toBe(1); // 0.6 -> (0.6 - 0.5) * 40 = 4
    expect(barelyActed([{ arm: 'mixup', mixing: s }])).toHaveLength(1);
    const good = new MixingObserver();
    good.add(batchOf([0, 1], 2, [0.6, 0.4, 0.4, 0.6]));
    expect(
      barelyActed([
        { arm: 'mixup', mixing: good.stats() },
        { arm: 'baseline', mixing: new MixingObserver().stats() },
      ]),
    ).toEqual([]);
  });
});

describe('warnings', () => {
  it("counts the seeds a verdict needs over the verdicts' family (5 contrasts here), not over the arms (3)", () => {
    const arms = ['baseline', 'augment', 'cutmix', 'mixup'];
    const parents = { augment: 'baseline', cutmix: 'augment', mixup: 'augment' };
    const curve = [0.3, 0.5, 0.6, 0.6];
    const runs = (seeds: number) => arms.flatMap((a) => Array.from({ length: seeds }, (_, i) => run(a, i + 1, curve)));
    // 2/2^7 = 0.016 passes alpha/3 (the arms against the baseline) but not alpha/5 (Holm's first step over 5 contrasts).
    const seven = analyzeRuns(runs(7), { arms, parents, validationCount: 1000 });
    expect(seven.headline?.family).toBe(5);
    expect(seven.warnings.find((w) => w.kind === 'few-seeds')?.message).toMatch(
      /^7 paired seed\(s\): .* after Holm over 5 contrast\(s\) with fewer than 8; .*--seeds 8 or more/,
    );
    expect(analyzeRuns(runs(8), { arms, parents, validationCount: 1000 }).warnings.map((w) => w.kind)).not.toContain('few-seeds');
  });

  it('names too few seeds, too few validation images and curves still rising', () => {
    const rising = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    const flat = [0.1, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6];
    const runs = [run('a', 1, flat), run('a', 2, flat), run('b', 1, rising), run('b', 2, rising)];
    const { warnings } = analyzeRuns(runs, { arms: ['a', 'b'], validationCount: 40 });
    const kinds = warnings.map((w) => `${w.kind}${w.arm ? `:${w.arm}` : ''}`);
    expect(kinds).toEqual(['few-seeds', 'few-validation-images', 'still-rising:b']);
    expect(warnings[1]!.message).toMatch(/one image is 2.50 accuracy points/);
    const enough = [1, 2, 3, 4, 5, 6].flatMap((s) => [run('a', s, flat), run('b', s, flat)]);
    expect(analyzeRuns(enough, { arms: ['a', 'b'], validationCount: 1000 }).warnings).toEqual([]);
    const withTest = enough.map((r) => ({ ...r, test: { loss: 1, accuracy: 0.5, images: 180 } }));
    expect(analyzeRuns(withTest, { arms: ['a', 'b'], validationCount: 1000 }).warnings.map((w) => w.kind)).toEqual(['few-test-images']);
  });

  it('does not call seed-to-seed noise at the end of flat curves a rise', () => {
    const tail = (last3: number[]): number[] => [0.1, 0.5, 0.6, 0.6, 0.6, ...last3];
    // Late rises of +6, -3, +1, +6, -3, +1, +6 points: a mean of 2 points, but its t interval holds 0.
    const noisy = [tail([0.57, 0.6, 0.63]), tail([0.615, 0.6, 0.585]), tail([0.595, 0.6, 0.605])];
    const seeds = [1, 2, 3, 4, 5, 6, 7];
    const runs = seeds.flatMap((s) => [run('a', s, noisy[(s - 1) % 3]!), run('b', s, tail([0.56, 0.6, 0.64]))]);
    const kinds = analyzeRuns(runs, { arms: ['a', 'b'], validationCount: 1000 }).warnings.map(
      (w) => `${w.kind}${w.arm ? `:${w.arm}` : ''}`,
    );
    expect(kinds).toEqual(['still-rising:b']);
  });
});

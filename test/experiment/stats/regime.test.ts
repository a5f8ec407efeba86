import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/experiment/record.js';
import { analyzeRuns } from '../../../src/experiment/stats/analysis.js';
import { trainingRegime } from '../../../src/experiment/stats/regime.js';
import { epochRecord, runRecord } from '../../helpers.js';

/** A run whose last epoch trained to `train` and validated at `val`. */
function run(arm: string, seed: number, train: number, val: number): RunRecord {
  return runRecord(arm, seed, { epochs: [epochRecord(1, 0.1), epochRecord(2, val, { accuracy: train })] });
}

describe('the training regime', () => {
  it("names overfitting when the reference's train/validation gap is clearly above 5 points, with its interval", () => {
    const runs = [0.68, 0.7, 0.66, 0.72].map((t, i) => run('baseline', i + 1, t, 0.32 + i * 0.01));
    const r = trainingRegime(runs, 'baseline', 120)!;
    expect(r.overfits).toBe(true);
    expect(r.seeds).toBe(4);
    expect(r.train).toBeCloseTo(69, 9);
    expect(r.validation).toBeCloseTo(33.5, 9);
    expect(r.gap).toBeCloseTo(35.5, 9);
    expect(r.gapInterval[0]).toBeLessThan(35.5);
    expect(r.gapInterval[1]).toBeGreaterThan(35.5);
    expect(r.message).toMatch(/^Regime: baseline trains to 69\.0% and validates at 33\.5% .* gap of 35\.5 points .* It overfits/);
  });

  it('says a regulariser has little to close when the gap is small or its interval reaches below the threshold', () => {
    const close = [0.5, 0.52, 0.51].map((t, i) => run('baseline', i + 1, t, 0.49));
    expect(trainingRegime(close, 'baseline', 2000)?.overfits).toBe(false);
    expect(trainingRegime(close, 'baseline', 2000)?.message).toMatch(/does not overfit much/);
    // A 10-point mean gap, but 2 seeds that disagree: its interval reaches below 5 points.
    const noisy = [run('baseline', 1, 0.6, 0.58), run('baseline', 2, 0.7, 0.52)];
    expect(trainingRegime(noisy, 'baseline', 2000)?.overfits).toBe(false);
    // Coarse validation (40 images: one image is 2.5 points) raises the threshold to two images.
    const gap8 = [0.58, 0.59, 0.57, 0.58].map((t, i) => run('baseline', i + 1, t, 0.5));
    expect(trainingRegime(gap8, 'baseline', 2000)?.overfits).toBe(true);
    expect(trainingRegime(gap8, 'baseline', 20)?.overfits).toBe(false);
    // One seed: no claim either way.
    expect(trainingRegime([run('baseline', 1, 0.9, 0.3)], 'baseline', 2000)?.message).toMatch(/one seed cannot say/);
    expect(trainingRegime(close, 'augment', 2000)).toBeUndefined();
  });

  it("is the reference arm's, in the analysis results.json carries, and leaves diverged runs out", () => {
    const runs = [
      ...[1, 2, 3].map((s) => run('baseline', s, 0.9, 0.4)),
      ...[1, 2, 3].map((s) => run('augment', s, 0.5, 0.45)),
      { ...run('baseline', 4, 0.1, 0.1), diverged: { epoch: 2, loss: 'NaN' } },
    ];
    const a = analyzeRuns(runs, { arms: ['baseline', 'augment'], validationCount: 200 });
    expect(a.regime?.arm).toBe('baseline');
    expect(a.regime?.seeds).toBe(3);
    expect(a.regime?.overfits).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { meanSd, meanStd } from '../../src/experiment/stats/meanSd.js';
import { tInterval } from '../../src/experiment/stats/compare.js';

describe('meanSd, the one mean and SD', () => {
  it('gives the sample SD (n - 1), NaN below two values; meanStd keeps results.json SD 0 for one value', () => {
    expect(meanSd([1, 2, 3, 4])).toEqual({ mean: 2.5, sd: Math.sqrt(5 / 3), n: 4 });
    expect(meanSd([7])).toEqual({ mean: 7, sd: Number.NaN, n: 1 });
    expect(meanSd([])).toEqual({ mean: Number.NaN, sd: Number.NaN, n: 0 });
    expect(meanStd([7])).toEqual({ mean: 7, std: 0, n: 1 });
    expect(meanStd([1, 2, 3, 4]).std).toBe(meanSd([1, 2, 3, 4]).sd);
  });

  it('is what the t interval is built on', () => {
    const xs = [0.5, -1, 2, 1.5];
    const { mean, sd } = meanSd(xs);
    const [lo, hi] = tInterval(xs)!;
    expect((lo + hi) / 2).toBeCloseTo(mean, 12);
    expect(hi - lo).toBeGreaterThan((2 * sd) / Math.sqrt(xs.length)); // t(0.975, 3) > 1
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/core/random.js';
import { tost, tostCounts, tostCrossed } from '../../../src/experiment/stats/equivalence.js';
import { crossedInterval, type SeedCorrectness } from '../../../src/experiment/stats/images.js';

const mcSe = (rate: number, draws: number): number => Math.sqrt((rate * (1 - rate)) / draws);

describe('equivalence within D (TOST)', () => {
  it('an arm equal to its reference is "equivalent within D" for D above its interval, and inconclusive below it, saying what would narrow it', () => {
    // Count differences of an arm that is the reference up to seed noise: mean 0.
    const d = [1, -1, 2, -2, 0, 1, -1, 0];
    const wide = tostCounts(d, 2000, 1); // D = 1 point; the 90% interval is about +-0.06 points
    expect(wide.verdict).toBe('equivalent');
    expect(wide.level).toBeCloseTo(0.9, 12);
    expect(wide.interval[0]).toBeGreaterThan(-1);
    expect(wide.reason).toMatch(/^equivalent within 1 points/);
    const bound = Math.max(-wide.interval[0], wide.interval[1]);
    expect(tostCounts(d, 2000, bound * 1.01).verdict).toBe('equivalent');
    const narrow = tostCounts(d, 2000, bound * 0.5);
    expect(narrow.verdict).toBe('inconclusive');
    expect(narrow.width).toBeCloseTo(wide.width, 12);
    expect(narrow.reason).toMatch(/points wide and reaches past/);
    expect(narrow.narrowing?.halfWidthNeeded).toBeCloseTo(bound * 0.5, 12);
    expect(narrow.narrowing?.seeds as number).toBeGreaterThan(8);
    // The suggested seeds would do it, one fewer would not (at this SD and mean).
    const s = narrow.narrowing?.seeds as number;
    const sd = (2000 / 100) ** -1 * Math.sqrt(d.reduce((a, v) => a + v * v, 0) / 7);
    const fits = (n: number): boolean => tost({ mean: 0, se: sd / Math.sqrt(n), df: n - 1 }, bound * 0.5).verdict === 'equivalent';
    expect(fits(s)).toBe(true);
    expect(fits(s - 1)).toBe(false);
  });

  it('on per-image bits (seeds x images): equal arms are equivalent within D above the interval; otherwise seeds or images are named', () => {
    const r = rng(8, 'equal-arms');
    const runs: SeedCorrectness[] = [];
    for (let s = 0; s < 6; s++) {
      const arm = Array.from({ length: 400 }, () => (r.next() < 0.7 ? 1 : 0));
      // The reference disagrees with the arm on ~10% of images, both ways alike.
      const reference = arm.map((b) => (r.next() < 0.1 ? 1 - b : b));
      runs.push({ arm, reference });
    }
    const c = crossedInterval(runs);
    const e = tostCrossed(c, Math.max(Math.abs(c.mean) + 3 * c.se, 0.5));
    expect(e.verdict).toBe('equivalent');
    const tight = tostCrossed(c, Math.abs(c.mean) + 0.5 * c.se);
    expect(tight.verdict).toBe('inconclusive');
    expect(tight.narrowing?.images ?? tight.narrowing?.seeds).not.toBeNull();
    expect(tight.reason).toMatch(/test images|seeds/);
  });

  it('equivalent exactly when the (1 - 2 alpha) interval lies inside +-D, and then the TOST p <= alpha (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -5, max: 5, noNaN: true }),
        fc.double({ min: 0.01, max: 3, noNaN: true }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0.05, max: 6, noNaN: true }),
        (mean, se, df, margin) => {
          const e = tost({ mean, se, df }, margin);
          const inside = e.interval[0] > -margin && e.interval[1] < margin;
          expect(e.verdict === 'equivalent').toBe(inside);
          if (Math.abs(Math.abs(e.interval[0]) - margin) > 1e-9 && Math.abs(Math.abs(e.interval[1]) - margin) > 1e-9)
            expect(e.p <= 0.05).toBe(inside);
        },
      ),
      { seed: 6, numRuns: 500 },
    );
  });

  it('at the margin (true difference exactly D, 8 seeds, 20000 simulated sets) "equivalent" is said at most alpha of the time, within Monte-Carlo error', () => {
    const r = rng(4, 'tost-size');
    const sets = 20000;
    let claimed = 0;
    for (let k = 0; k < sets; k++) {
      const x = Array.from({ length: 8 }, () => 1 + 0.8 * r.normal()); // D = 1 point, SD 0.8 points
      const mean = x.reduce((a, b) => a + b, 0) / 8;
      const sd = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / 7);
      if (tost({ mean, se: sd / Math.sqrt(8), df: 7 }, 1).verdict === 'equivalent') claimed++;
    }
    // Measured: 0.0490 (MC SE 0.0015).
    expect(claimed / sets).toBeLessThanOrEqual(0.05 + 3 * mcSe(0.05, sets));
  });

  it('an estimate at least D from 0 cannot be narrowed into equivalence, and says so', () => {
    const e = tost({ mean: 1.5, se: 0.2, df: 7 }, 1, { design: { kind: 'seeds', seeds: 8, sd: 0.56 } });
    expect(e.verdict).toBe('inconclusive');
    expect(e.narrowing).toEqual({ halfWidthNeeded: null, seeds: null, images: null });
    expect(e.reason).toMatch(/itself at least 1 points from 0/);
    expect(() => tost({ mean: 0, se: 1, df: 3 }, 0)).toThrow(RangeError);
  });
});

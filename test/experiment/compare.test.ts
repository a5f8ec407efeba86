import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareArms, detectableEffect, seedsForEffect, signFlipP, signFlipSeeds, tInterval } from '../../src/experiment/stats/compare.js';
import { holmAdjust } from '../../src/experiment/stats/contrasts.js';
import { incompleteBeta, tCdf, tQuantile } from '../../src/experiment/stats/tdist.js';
import { valRun as run } from '../helpers.js';

describe('Student t', () => {
  it('matches textbook table quantiles', () => {
    const table: Array<[number, number, number]> = [
      [0.975, 1, 12.706],
      [0.975, 2, 4.303],
      [0.975, 4, 2.776],
      [0.975, 9, 2.262],
      [0.975, 29, 2.045],
      [0.975, 120, 1.98],
      [0.8, 4, 0.941],
      [0.8, 9, 0.883],
      [0.995, 10, 3.169],
      [0.95, 5, 2.015],
    ];
    for (const [p, df, t] of table) expect(tQuantile(p, df)).toBeCloseTo(t, 3);
    expect(tQuantile(0.025, 4)).toBeCloseTo(-2.776, 3);
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.96, 3);
  });

  it('has CDF and quantile inverse of each other, and I_x(a, b) = 1 - I_{1-x}(b, a)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.integer({ min: 1, max: 200 }), (p, df) => {
        expect(tCdf(tQuantile(p, df), df)).toBeCloseTo(p, 8);
      }),
    );
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        (x, a, b) => {
          expect(incompleteBeta(x, a, b)).toBeCloseTo(1 - incompleteBeta(1 - x, b, a), 9);
        },
      ),
    );
  });

  it("gives the textbook paired interval on Student's sleep data (R: 0.7001 to 2.4599)", () => {
    const sleep = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4];
    const [lo, hi] = tInterval(sleep) as [number, number];
    expect(lo).toBeCloseTo(0.7001142, 6);
    expect(hi).toBeCloseTo(2.4598858, 6);
    expect(tInterval([1, 2, 3, 4, 5])![0]).toBeCloseTo(3 - 2.776445 * Math.sqrt(2.5 / 5), 5);
    expect(tInterval([3])).toBeNull();
  });
});

describe('sign-flip permutation p', () => {
  it('is exact for small n', () => {
    expect(signFlipP([1, 2, 3]).p).toBe(0.25);
    expect(signFlipP([0.5, 0.1]).p).toBe(0.5);
    expect(signFlipP([1, 2, 3, 4, 5, 6]).p).toBe(2 / 64);
    expect(signFlipP([1, 1, 1, -1]).p).toBe(10 / 16); // |sum| >= 2 unless two of each sign: 6 of 16
    expect(signFlipP([1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]).p).toBe(4 / 1024); // the 0 flips freely
    expect(signFlipP([0, 0, 0]).p).toBe(1);
  });

  it('has p in [2/2^n, 1], unchanged by scaling, negation and order; Monte-Carlo agrees with exact', () => {
    // Differences that scaling by k cannot underflow: a subnormal such as 5e-324 times 0.01 is 0,
    // which changes the data itself (fast-check found [-5e-324, -5e-324] with k = 0.01).
    const difference = fc.double({ min: -1, max: 1, noNaN: true }).filter((x) => x === 0 || Math.abs(x) > 1e-200);
    const diffs = fc.array(difference, { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(diffs, fc.double({ min: 0.01, max: 100, noNaN: true }), (xs, k) => {
        const { p } = signFlipP(xs);
        expect(p).toBeGreaterThanOrEqual(2 / 2 ** xs.length - 1e-15);
        expect(p).toBeLessThanOrEqual(1);
        expect(signFlipP(xs.map((x) => -x * k)).p).toBe(p);
        expect(signFlipP([...xs].reverse()).p).toBe(p);
      }),
    );
    const xs = [0.3, -0.1, 0.4, 0.2, 0.25, -0.05, 0.6, 0.1];
    const mc = signFlipP(xs, { exactUpTo: 0, draws: 20000, seed: 3 });
    expect(mc.method).toMatch(/Monte-Carlo/);
    expect(mc.p).toBeCloseTo(signFlipP(xs).p, 2);
    expect(signFlipP(xs, { exactUpTo: 0, seed: 3 }).p).toBe(mc.p);
  });
});

describe('Holm', () => {
  it('matches R p.adjust on a known list', () => {
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 12));
    expect(holmAdjust([0.5])).toEqual([0.5]);
  });

  it('never lowers a p, keeps the order, caps at 1', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 12 }), (ps) => {
        const adj = holmAdjust(ps);
        for (const [i, p] of ps.entries()) {
          expect(adj[i]).toBeGreaterThanOrEqual(p);
          expect(adj[i]).toBeLessThanOrEqual(1);
          for (const [j, q] of ps.entries()) if (p < q) expect(adj[i]).toBeLessThanOrEqual(adj[j] as number);
        }
      }),
    );
  });
});

describe('seeds needed', () => {
  it('agrees with R power.t.test(delta = 1, sd = 1, type = "paired", power = 0.8): 10 seeds', () => {
    expect(seedsForEffect(1, 1)).toBe(10);
    expect(detectableEffect(1, 10)).toBeLessThanOrEqual(1);
    expect(detectableEffect(1, 9)).toBeGreaterThan(1);
    expect(detectableEffect(1, 1)).toBeNull();
    // The floor 2/2^n must reach alpha / m: 6 seeds for one arm, 7 for three at alpha 0.05.
    expect(signFlipSeeds(0.05, 1)).toBe(6);
    expect(signFlipSeeds(0.05, 3)).toBe(7);
  });

  it('needs more seeds for a smaller effect or a larger spread', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 3, noNaN: true }), fc.double({ min: 0.2, max: 3, noNaN: true }), (sd, effect) => {
        const n = seedsForEffect(sd, effect) as number;
        expect(seedsForEffect(sd, effect / 2)).toBeGreaterThanOrEqual(n);
        expect(seedsForEffect(sd * 2, effect)).toBeGreaterThanOrEqual(n);
      }),
      { numRuns: 30 },
    );
  });
});

describe('compareArms', () => {
  it('says inconclusive with the reason when the floor cannot pass, and decides with enough seeds', () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7];
    const runs = seeds.flatMap((s) => [
      run('base', s, [0.5, 0.5 + s / 100]),
      run('worse', s, [0.4, 0.4 + s / 200]),
      run('same', s, [0.5, 0.5 + s / 100]),
    ]);
    const all = compareArms(runs, { arms: ['base', 'worse', 'same'] });
    const final = (arm: string) => all.comparisons.find((c) => c.arm === arm && c.metric === 'finalValAccuracy')!;
    expect(final('worse').verdict).toBe('worse');
    expect(final('worse').p).toBe(2 / 128);
    expect(final('same').verdict).toBe('inconclusive');
    expect(final('same').differences).toEqual(seeds.map(() => 0));
    expect(final('same').reason).toMatch(/exactly 0/);
    const loss = all.comparisons.find((c) => c.arm === 'worse' && c.metric === 'finalValLoss')!;
    expect(loss.verdict).toBe('worse'); // higher loss is worse
    const two = compareArms(
      runs.filter((r) => r.seed <= 2),
      { arms: ['base', 'worse'] },
    );
    const c = two.comparisons.find((x) => x.metric === 'finalValAccuracy')!;
    expect(c.verdict).toBe('inconclusive');
    expect(c.reason).toMatch(/with 2 seeds the smallest possible two-sided p is 0.5/);
    expect(c.seedsNeeded.signFlip).toBe(6);
    expect(c.ci95).not.toBeNull();
  });

  it('pairs by seed, ignoring seeds one arm lacks, and names a bad baseline', () => {
    const runs = [run('a', 1, [0.5]), run('a', 2, [0.6]), run('b', 2, [0.7]), run('b', 3, [0.1])];
    const c = compareArms(runs, { arms: ['a', 'b'] }).comparisons[0]!;
    expect(c.seeds).toEqual([2]);
    expect(c.differences[0]).toBeCloseTo(0.1, 12);
    expect(() => compareArms(runs, { arms: ['a', 'b'], baseline: 'z' })).toThrow(/baseline 'z'/);
  });
});

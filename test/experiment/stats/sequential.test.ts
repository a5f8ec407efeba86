import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/core/random.js';
import { countSignFlip } from '../../../src/experiment/stats/counts.js';
import {
  groupSequentialSignFlip,
  lateSpending,
  seedsAddedAfterLook,
  sequentialVerdict,
  signFlipEProcess,
  spendingLevel,
} from '../../../src/experiment/stats/sequential.js';

const mcSe = (rate: number, draws: number): number => Math.sqrt((rate * (1 - rate)) / draws);
const LOOKS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

describe('guard against optional stopping', () => {
  it('adding seeds one at a time to 12 and stopping at the first significant look: naive 10%, guarded <= alpha within Monte-Carlo error (2000 simulated nulls)', () => {
    const r = rng(43, 'peeking', 10);
    const sets = 2000;
    let naive = 0;
    let fixed = 0;
    let guarded = 0;
    let always = 0;
    for (let k = 0; k < sets; k++) {
      const d = Array.from({ length: 12 }, () => r.int(21) - 10); // symmetric: no effect
      if (LOOKS.some((n) => countSignFlip(d.slice(0, n)).p <= 0.05)) naive++;
      if (countSignFlip(d).p <= 0.05) fixed++;
      if (groupSequentialSignFlip(d, LOOKS, { maxSeeds: 12 }).reject) guarded++;
      if (signFlipEProcess(d).max >= 20) always++;
    }
    // Measured with this seed: naive 0.101, fixed 12 seeds 0.040, group-sequential 0.047, e-process 0.002 (MC SE 0.0049 at 0.05).
    const bound = 0.05 + 3 * mcSe(0.05, sets);
    expect(naive / sets).toBeGreaterThan(bound);
    expect(guarded / sets).toBeLessThanOrEqual(bound);
    expect(always / sets).toBeLessThanOrEqual(bound);
    expect(fixed / sets).toBeLessThanOrEqual(bound);
  });

  it('group-sequential: never spends more than alpha x spending(t) by any look; one look at the declared maximum is the exact test (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 2, maxLength: 11 }),
        fc.integer({ min: 0, max: 3 }),
        (d, extra) => {
          const n = d.length;
          const looks = [...new Set([Math.max(1, n - 3), Math.max(1, n - 1), n])].sort((a, b) => a - b);
          const g = groupSequentialSignFlip(d, looks, { maxSeeds: n + extra });
          for (const look of g.perLook)
            expect(look.spent).toBeLessThanOrEqual(0.05 * Math.log(1 + (Math.E - 1) * (look.seeds / (n + extra))) + 1e-12);
          const single = groupSequentialSignFlip(d, [n], { maxSeeds: n });
          expect(single.reject).toBe(countSignFlip(d).p <= 0.05);
        },
      ),
      { seed: 43, numRuns: 200 },
    );
    expect(() => groupSequentialSignFlip([1, 2, 3], [2, 3], { maxSeeds: 2 })).toThrow(/declared before the first look/);
    expect(() => groupSequentialSignFlip([1, 2, 3], [3, 2], { maxSeeds: 5 })).toThrow(RangeError);
  });

  it('the e-process is a fair game: over all 2^n sign vectors its mean is 1 at every n', () => {
    const magnitudes = [3, 1, 4, 1, 5, 0, 2, 6];
    const n = magnitudes.length;
    const mean = new Float64Array(n);
    for (let v = 0; v < 2 ** n; v++) {
      const path = signFlipEProcess(magnitudes.map((m, i) => ((v >> i) & 1 ? -m : m))).path;
      for (let i = 0; i < n; i++) mean[i] = (mean[i] as number) + (path[i] as number) / 2 ** n;
    }
    for (const m of mean) expect(m).toBeCloseTo(1, 12);
    expect(signFlipEProcess(Array.from({ length: 12 }, () => 2)).max).toBeGreaterThan(20); // 12 of 12 one way: rejects
  });

  it('a seed added after a look is flagged, with the order the seeds entered; re-reading the same seeds is not', () => {
    const looks = [{ seeds: [1, 2, 3, 4, 5] }, { seeds: [1, 2, 3, 4, 5, 6] }];
    const c = seedsAddedAfterLook(looks, [1, 2, 3, 4, 5, 6, 7]);
    expect(c.peeked).toBe(true);
    expect(c.added).toEqual([6, 7]);
    expect(c.earlierLooks).toBe(2);
    expect(c.order).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(c.note).toMatch(/^seeds 6, 7 were added after an earlier look/);
    const same = seedsAddedAfterLook([{ seeds: [3, 1, 2] }, { seeds: [1, 2, 3] }], [1, 2, 3]);
    expect(same.peeked).toBe(false);
    expect(same.note).toBe('');
    expect(seedsAddedAfterLook([], [1, 2]).peeked).toBe(false);
    // Seeds entered out of numeric order: the first look's first.
    expect(seedsAddedAfterLook([{ seeds: [7, 9] }], [2, 7, 9]).order).toEqual([7, 9, 2]);
  });

  it('the verdict: one look is the fixed exact test; later looks the group-sequential test (maximum declared) or the e-process', () => {
    const d = [4, 3, 4, 2, 2, 1, 4, 2, 3, 1];
    expect(sequentialVerdict(d, [10])).toMatchObject({ method: 'fixed', reject: countSignFlip(d).p <= 0.05 });
    const gs = sequentialVerdict(d, [7, 8, 9, 10], { maxSeeds: 12 });
    expect(gs.method).toBe('group-sequential');
    expect(gs.reject).toBe(true); // ten of ten positive: p = 0.002
    expect(gs.reason).toMatch(/passed its spent threshold/);
    const late = groupSequentialSignFlip(d, [7, 8, 9, 10], { maxSeeds: 12, spending: lateSpending });
    for (const look of late.perLook) expect(look.spent).toBeLessThanOrEqual(0.05 * (look.seeds / 12) ** 3 + 1e-12);
    const e = sequentialVerdict(d, [7, 8, 9, 10]);
    expect(e.method).toBe('e-process');
    expect(e.level).toBe(0.05);
    expect(e.reject).toBe(e.p <= 0.05);
    expect(spendingLevel(1)).toBe(0.025);
    expect(spendingLevel(3, 0.05, 4)).toBe(0.0125);
    expect(spendingLevel(5, 0.05, 4)).toBe(0);
    let total = 0;
    for (let k = 1; k <= 1000; k++) total += spendingLevel(k);
    expect(total).toBeLessThan(0.05);
  });
});

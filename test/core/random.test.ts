import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashKeys, rng, Rng, type Key } from '../../src/core/random.js';

const draws = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.uint32());

describe('Rng keying', () => {
  it('same keys give the same stream', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 6 })), { maxLength: 5 }), (keys: Key[]) => {
        expect(draws(new Rng(keys), 8)).toEqual(draws(rng(...keys), 8));
      }),
      { numRuns: 200 },
    );
  });

  it('different seed, string, epoch or index give different streams', () => {
    const base = draws(rng(1, 'augment', 0, 0), 4);
    const variants: Key[][] = [
      [2, 'augment', 0, 0], // seed
      [1, 'cutmix', 0, 0], // stream name
      [1, 'augment', 1, 0], // epoch
      [1, 'augment', 0, 1], // index
      [1, 'augment', 0], // fewer keys
      [1, 'augment', 0, 0, 0], // more keys
      [1, 'augmen', 't', 0, 0], // same characters, other split
      [1, '1', 0, 0], // string vs number
      [-1, 'augment', 0, 0], // sign
      [1 + 2 ** 32, 'augment', 0, 0], // high word
    ];
    const seen = new Set<string>([base.join(',')]);
    for (const keys of variants) {
      const s = draws(rng(...keys), 4);
      expect(s, JSON.stringify(keys)).not.toEqual(base);
      seen.add(s.join(','));
    }
    expect(seen.size).toBe(variants.length + 1);
    // epoch and index are not interchangeable
    expect(draws(rng(1, 'augment', 2, 3), 4)).not.toEqual(draws(rng(1, 'augment', 3, 2), 4));
  });

  it('neighbouring indices do not collide over many keys', () => {
    const firsts = new Set<number>();
    for (let e = 0; e < 4; e++) for (let i = 0; i < 2500; i++) firsts.add(rng(0, 'augment', e, i).uint32());
    // 10000 draws of 32 bits: a collision has probability ~1%; allow at most one.
    expect(firsts.size).toBeGreaterThanOrEqual(9999);
  });

  it('rejects non-finite keys', () => {
    expect(() => hashKeys([Number.NaN])).toThrow(RangeError);
    expect(() => rng(Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });

  // Pinned values, computed once from the current implementation. Their purpose is to catch an
  // accidental change of the hash or of the generator: every seeded pipeline (augment, shuffle,
  // cutmix, mixup, splits) would silently change its numbers. If you change the RNG on purpose,
  // update these values and say so in the changelog.
  it('hashKeys and the generator are stable (pinned values)', () => {
    expect(hashKeys([])).toBe(2462723854);
    expect(hashKeys([0])).toBe(4199013759);
    expect(hashKeys([1, 'augment', 0, 7])).toBe(1703475822);
    expect(hashKeys(['cutmix'], 3)).toBe(3613765961);
    expect(draws(rng(42, 'pin'), 3)).toEqual([1579896104, 3698685282, 1861981959]);
  });
});

describe('Rng draws', () => {
  it('next() is in [0, 1) and uniform(low, high) in [low, high)', () => {
    const r = rng(3);
    for (let i = 0; i < 5000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      const u = r.uniform(-2, 5);
      expect(u >= -2 && u < 5).toBe(true);
    }
  });

  it('int(n) stays in [0, n) and is an integer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 32 }), fc.integer(), (n, seed) => {
        const r = rng(seed);
        for (let i = 0; i < 20; i++) {
          const x = r.int(n);
          expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
        }
      }),
    );
    expect(rng(1).int(1)).toBe(0);
  });

  it('int(n) rejects bad n', () => {
    const r = rng(0);
    for (const n of [0, -1, 1.5, Number.NaN, 2 ** 32 + 1]) expect(() => r.int(n)).toThrow(RangeError);
  });

  it('int(n) is roughly uniform (chi-square, fixed seed)', () => {
    for (const k of [2, 7, 10]) {
      const n = 20000;
      const counts = new Array<number>(k).fill(0);
      const r = rng(2024, 'chi', k);
      for (let i = 0; i < n; i++) counts[r.int(k)]! += 1;
      const expected = n / k;
      const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
      // 0.999 quantiles of chi-square with k - 1 degrees of freedom.
      const critical = { 2: 10.83, 7: 22.46, 10: 27.88 }[k] as number;
      expect(chi2).toBeLessThan(critical);
    }
  });

  it('permutation(n) is a permutation, and differs between keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 }), fc.integer(), (n, seed) => {
        const p = rng(seed).permutation(n);
        expect(p.length).toBe(n);
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(rng(seed).permutation(n)).toEqual(p);
      }),
    );
    expect(rng(1).permutation(20)).not.toEqual(rng(2).permutation(20));
  });

  it('permutation puts each item at each place about equally often', () => {
    const n = 4;
    const runs = 8000;
    const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    const r = rng(77);
    for (let t = 0; t < runs; t++) r.permutation(n).forEach((v, i) => (counts[i]![v]! += 1));
    for (const row of counts) for (const c of row) expect(Math.abs(c - runs / n)).toBeLessThan(5 * Math.sqrt(runs * (1 / n) * (1 - 1 / n)));
  });

  it('shuffle is a deterministic in-place permutation', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 40 }), fc.integer(), (items, seed) => {
        const a = [...items];
        const out = rng(seed, 'shuffle').shuffle(a);
        expect(out).toBe(a);
        expect([...a].sort((x, y) => x - y)).toEqual([...items].sort((x, y) => x - y));
        expect(rng(seed, 'shuffle').shuffle([...items])).toEqual(a);
      }),
    );
    const xs = Array.from({ length: 30 }, (_, i) => i);
    expect(rng(5).shuffle([...xs])).not.toEqual(xs);
  });

  it('normal() has mean 0 and variance 1', () => {
    const n = 20000;
    const r = rng(9, 'normal');
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      expect(Number.isFinite(x)).toBe(true);
      sum += x;
      sq += x * x;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n)); // 5 standard errors
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('gamma and beta reject non-positive parameters', () => {
    expect(() => rng(0).gamma(0)).toThrow(/shape/);
    expect(() => rng(0).beta(-1, 1)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { rng, type Rng } from '../../../src/core/random.js';
import { countInterval } from '../../../src/experiment/stats/counts.js';
import {
  crossedBootstrap,
  crossedInterval,
  differenceMatrix,
  stratifiedMcNemar,
  type DifferenceMatrix,
  type SeedCorrectness,
} from '../../../src/experiment/stats/images.js';

const mcSe = (rate: number, draws: number): number => Math.sqrt((rate * (1 - rate)) / draws);

/**
 * A null world: image i is right for the arm with probability qa_i and for the reference with qr_i,
 * both drawn from the same law (so over images the arms are equal), the arm shifted by a seed effect
 * a_s ~ N(0, 0.03^2); one uniform per (seed, image) drives both bits (paired models agree on most
 * images). The true difference over seeds and images is 0; on one draw of T images it is not.
 */
function nullWorld(r: Rng, S: number, T: number): DifferenceMatrix {
  const qa = Array.from({ length: T }, () => r.uniform(0.25, 0.75));
  const qr = Array.from({ length: T }, () => r.uniform(0.25, 0.75));
  const a = Array.from({ length: S }, () => 0.03 * r.normal());
  const d = new Int8Array(S * T);
  for (let s = 0; s < S; s++)
    for (let i = 0; i < T; i++) {
      const u = r.next();
      d[s * T + i] = (u < (qa[i] as number) + (a[s] as number) ? 1 : 0) - (u < (qr[i] as number) ? 1 : 0);
    }
  return { seeds: S, images: T, d };
}
const covers = (ci: readonly [number, number] | null): boolean => ci !== null && ci[0] <= 0 && ci[1] >= 0;

describe('uncertainty over seeds and test images', () => {
  it('the seeds-only part is the per-seed count interval; identical seeds leave only the images (share 1)', () => {
    const r = rng(3, 'images-fixed');
    const runs: SeedCorrectness[] = Array.from({ length: 6 }, () => ({
      arm: Array.from({ length: 200 }, () => (r.next() < 0.8 ? 1 : 0)),
      reference: Array.from({ length: 200 }, () => (r.next() < 0.78 ? 1 : 0)),
    }));
    const c = crossedInterval(runs);
    const counts = runs.map(
      (x) =>
        Array.from(x.arm).reduce<number>((a, b) => a + Number(b), 0) - Array.from(x.reference).reduce<number>((a, b) => a + Number(b), 0),
    );
    const perSeed = countInterval(counts, 200);
    expect(c.mean).toBeCloseTo(perSeed.meanPoints, 10);
    expect(c.seedsOnly.interval?.[0]).toBeCloseTo((perSeed.points as [number, number])[0], 10);
    expect(c.shares.seeds + c.shares.images + c.shares.residual).toBeCloseTo(1, 12);
    expect(c.se).toBeGreaterThanOrEqual(c.seedsOnly.se * 0.999);

    // Every seed the same model: the mean is over T paired images, its SE sd(d_i)/sqrt(T).
    const d: number[] = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? 1 : i % 7 === 0 ? -1 : 0));
    const same: SeedCorrectness[] = Array.from({ length: 4 }, () => ({
      arm: d.map((v) => (v > 0 ? 1 : 0)),
      reference: d.map((v) => (v < 0 ? 1 : 0)),
    }));
    const s = crossedInterval(same);
    const mean = d.reduce((a, b) => a + b, 0) / 50;
    const sd = Math.sqrt(d.reduce((a, v) => a + (v - mean) ** 2, 0) / 49);
    expect(s.se).toBeCloseTo((100 * sd) / Math.sqrt(50), 10);
    expect(s.shares.images).toBeCloseTo(1, 12);
    expect(s.seedsOnly.se).toBe(0);
  });

  it('simulated null (5 seeds x 150 images, 2000 worlds): the crossed interval covers 0 at >= 95% within Monte-Carlo error, the seeds-only one and the pooled McNemar test do not', () => {
    const r = rng(20, 'images-null');
    const worlds = 2000;
    let crossed = 0;
    let seedsOnly = 0;
    let mcnemar = 0;
    let imageShare = 0;
    let boot = 0;
    let bootWorlds = 0;
    for (let k = 0; k < worlds; k++) {
      const m = nullWorld(r, 5, 150);
      const c = crossedInterval(m);
      if (covers(c.interval)) crossed++;
      if (covers(c.seedsOnly.interval)) seedsOnly++;
      if (stratifiedMcNemar(m).p <= 0.05) mcnemar++;
      imageShare += c.shares.images;
      if (k % 10 === 0) {
        bootWorlds++;
        if (covers(crossedBootstrap(m, { draws: 400, seed: k }).interval)) boot++;
      }
    }
    // Measured with this seed: crossed 0.9895 on S - 1 df (0.9525 with Satterthwaite's df; MC SE
    // 0.0049), seeds-only 0.8965, pooled McNemar false positives 0.22, mean test-sampling share 0.47;
    // bootstrap 0.96 over 200 worlds (MC SE 0.015).
    expect(crossed / worlds).toBeGreaterThanOrEqual(0.95 - 3 * mcSe(0.05, worlds));
    expect(boot / bootWorlds).toBeGreaterThanOrEqual(0.95 - 3 * mcSe(0.05, bootWorlds));
    expect(seedsOnly / worlds).toBeLessThan(0.92);
    expect(mcnemar / worlds).toBeGreaterThan(0.1);
    expect(imageShare / worlds).toBeGreaterThan(0.3);
  });

  it("3 seeds x 400 images, a small image effect (1500 worlds): S - 1 df keep 95% coverage where Satterthwaite's df fall short", () => {
    const r = rng(21, 'images-null-3-seeds');
    const worlds = 1500;
    let seedsDf = 0;
    let satterthwaite = 0;
    for (let k = 0; k < worlds; k++) {
      const [S, T] = [3, 400];
      const base = Array.from({ length: T }, () => r.uniform(0.3, 0.7));
      const shift = Array.from({ length: T }, () => 0.1 * r.uniform(-1, 1)); // mean 0 over images
      const a = Array.from({ length: S }, () => 0.02 * r.normal());
      const d = new Int8Array(S * T);
      for (let s = 0; s < S; s++)
        for (let i = 0; i < T; i++) {
          const u = r.next();
          const b = base[i] as number;
          d[s * T + i] = (u < b + (shift[i] as number) + (a[s] as number) ? 1 : 0) - (u < b ? 1 : 0);
        }
      const m = { seeds: S, images: T, d };
      if (covers(crossedInterval(m).interval)) seedsDf++;
      if (covers(crossedInterval(m, 0.95, 'satterthwaite').interval)) satterthwaite++;
    }
    // Measured: 0.9693 on S - 1 df, 0.9387 with Satterthwaite's (MC SE 0.0056).
    expect(seedsDf / worlds).toBeGreaterThanOrEqual(0.95 - 3 * mcSe(0.05, worlds));
    expect(satterthwaite / worlds).toBeLessThan(seedsDf / worlds);
  });

  it('the bootstrap is seeded: the same seed gives the same interval, around the observed mean', () => {
    const m = nullWorld(rng(5, 'boot'), 4, 80);
    const a = crossedBootstrap(m, { draws: 300, seed: 9 });
    expect(crossedBootstrap(m, { draws: 300, seed: 9 })).toEqual(a);
    expect(crossedBootstrap(m, { draws: 300, seed: 10 }).interval).not.toEqual(a.interval);
    expect(a.mean).toBeCloseTo(crossedInterval(m).mean, 12);
    expect(a.interval[0]).toBeLessThan(a.mean);
    expect(a.interval[1]).toBeGreaterThan(a.mean);
  });

  it('pooled McNemar: exact binomial p over the discordant images of every seed', () => {
    // Seed 1: 6 images only the arm got, 1 only the reference; seed 2: 4 and 1 -> 10 vs 2.
    const seed = (b: number, c: number, same: number): SeedCorrectness => ({
      arm: [...Array(b).fill(1), ...Array(c).fill(0), ...Array(same).fill(1)],
      reference: [...Array(b).fill(0), ...Array(c).fill(1), ...Array(same).fill(1)],
    });
    const r = stratifiedMcNemar([seed(6, 1, 3), { arm: [1, 1, 1, 1, 0, 1, 1, 1, 1, 1], reference: [0, 0, 0, 0, 1, 1, 1, 1, 1, 1] }]);
    expect([r.armOnly, r.referenceOnly]).toEqual([10, 2]);
    expect(r.perSeed).toEqual([
      { armOnly: 6, referenceOnly: 1 },
      { armOnly: 4, referenceOnly: 1 },
    ]);
    expect(r.p).toBeCloseTo(158 / 4096, 12); // 2 (1 + 12 + 66) / 2^12
    expect(r.z).toBeCloseTo(8 / Math.sqrt(12), 12);
  });

  it('refuses bit vectors of other lengths or values', () => {
    expect(() => differenceMatrix([{ arm: [1, 0], reference: [1] }])).toThrow(/same test images/);
    expect(() => differenceMatrix([{ arm: [1, 2], reference: [1, 0] }])).toThrow(/must be 0 or 1/);
    expect(() => differenceMatrix([])).toThrow(/no seeds/);
    expect(crossedInterval([{ arm: [1, 0, 1], reference: [0, 0, 1] }]).interval).toBeNull();
    // Arms identical on every image of every seed: a zero-width interval at 0, p = 1.
    const same = crossedInterval([
      { arm: [1, 0, 1], reference: [1, 0, 1] },
      { arm: [0, 0, 1], reference: [0, 0, 1] },
    ]);
    expect([same.interval, same.p, same.df]).toEqual([[0, 0], 1, 1]);
  });
});

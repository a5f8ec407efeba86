import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxArea, cutmixBatch, cutmixBox, mixupBatch, oneHotLabels, smoothLabels } from '../../src/core/mix.js';
import { rng, type Rng } from '../../src/core/random.js';

type Shape = readonly [number, number, number, number];

/** Image i is constant i + 1, so the origin of every output pixel is its value. */
function constantImages(shape: Shape): Float32Array {
  const [n, h, w, c] = shape;
  const per = h * w * c;
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) out.fill(i + 1, i * per, (i + 1) * per);
  return out;
}

/** Sample i has label i of n classes. */
const identityTargets = (n: number): Float32Array =>
  oneHotLabels(
    Int32Array.from({ length: n }, (_, i) => i),
    n,
  );

function rowSums(targets: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < targets.length / k; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += targets[i * k + j] as number;
    out.push(s);
  }
  return out;
}

function expectPermutation(p: Int32Array, n: number): void {
  expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
}

const shapeArb = fc.tuple(
  fc.integer({ min: 1, max: 9 }),
  fc.integer({ min: 1, max: 12 }),
  fc.integer({ min: 1, max: 12 }),
  fc.integer({ min: 1, max: 3 }),
);
const alphaArb = fc.double({ min: 0.05, max: 5, noNaN: true });
const probArb = fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true }));

describe('cutmixBatch', () => {
  it('every pixel is its own or its partner, label weights are the exact pixel fractions', () => {
    fc.assert(
      fc.property(
        shapeArb,
        alphaArb,
        probArb,
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (shape, alpha, prob, perSample, correctLambda, seed) => {
          const [n, h, w, c] = shape;
          const per = h * w * c;
          const images = constantImages(shape);
          const targets = identityTargets(n);
          const imagesBefore = Float32Array.from(images);
          const targetsBefore = Float32Array.from(targets);
          const r = cutmixBatch(images, targets, shape, n, { alpha, prob, perSample, correctLambda }, rng(seed, 'cutmix'));

          expect(images).toEqual(imagesBefore);
          expect(targets).toEqual(targetsBefore);
          expectPermutation(r.partner, n);
          expect(r.images.length).toBe(images.length);
          expect(r.targets.length).toBe(n * n);
          for (const s of rowSums(r.targets, n)) expect(Math.abs(s - 1)).toBeLessThan(1e-6);
          expect(r.boxes?.length).toBe(n);

          for (let i = 0; i < n; i++) {
            const p = r.partner[i] as number;
            const box = r.boxes?.[i];
            if (!box) throw new Error('missing box');
            expect(0 <= box.y0 && box.y0 <= box.y1 && box.y1 <= h && 0 <= box.x0 && box.x0 <= box.x1 && box.x1 <= w).toBe(true);
            let own = 0;
            let other = 0;
            for (let y = 0; y < h; y++)
              for (let x = 0; x < w; x++) {
                const inBox = y >= box.y0 && y < box.y1 && x >= box.x0 && x < box.x1;
                for (let k = 0; k < c; k++) {
                  const v = r.images[i * per + (y * w + x) * c + k];
                  // inside the box the partner's pixel, outside its own
                  expect(v).toBe(inBox ? p + 1 : i + 1);
                  if (v === i + 1) own++;
                  else other++;
                }
              }
            const ownFraction = p === i ? 1 : own / per;
            const weight = r.weight[i] as number;
            expect(weight >= 0 && weight <= 1).toBe(true);
            if (correctLambda && p !== i) expect(Math.abs(weight - ownFraction)).toBeLessThan(1e-12);
            if (correctLambda || p === i) {
              // the sample's own label gets exactly its own pixel fraction, the partner's the rest
              expect(Math.abs((r.targets[i * n + i] as number) - ownFraction)).toBeLessThan(1e-6);
              if (p !== i) expect(Math.abs((r.targets[i * n + p] as number) - other / per)).toBeLessThan(1e-6);
            }
            // always: the weight-blend of the two one-hot rows
            for (let k = 0; k < n; k++) {
              const expected = (k === i ? weight : 0) + (k === p ? 1 - weight : 0);
              expect(Math.abs((r.targets[i * n + k] as number) - expected)).toBeLessThan(1e-6);
            }
            if (boxArea(box) === 0) expect(weight).toBe(correctLambda ? 1 : weight);
          }
          if (prob === 0) {
            expect(r.images).toEqual(images);
            expect(r.targets).toEqual(targets);
            expect([...r.weight]).toEqual(new Array<number>(n).fill(1));
          }
          if (!perSample) {
            // one box for the whole batch
            const first = r.boxes?.[0];
            for (const b of r.boxes ?? []) expect(b).toEqual(first);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is deterministic for the same generator keys and changes with them', () => {
    const shape: Shape = [6, 8, 8, 1];
    const images = constantImages(shape);
    const targets = identityTargets(6);
    const opts = { alpha: 1, prob: 1, perSample: true, correctLambda: true };
    const a = cutmixBatch(images, targets, shape, 6, opts, rng(1, 'cutmix', 0, 0));
    const b = cutmixBatch(images, targets, shape, 6, opts, rng(1, 'cutmix', 0, 0));
    expect(b).toEqual(a);
    const others = [rng(1, 'cutmix', 0, 1), rng(1, 'cutmix', 1, 0), rng(2, 'cutmix', 0, 0)].map((g) =>
      cutmixBatch(images, targets, shape, 6, opts, g),
    );
    for (const o of others) expect(o.images).not.toEqual(a.images);
  });

  it('batch of one: the partner is itself, the image and label are unchanged', () => {
    const shape: Shape = [1, 5, 4, 3];
    const images = constantImages(shape);
    const r = cutmixBatch(images, identityTargets(1), shape, 1, { alpha: 1, prob: 1, perSample: false, correctLambda: true }, rng(3));
    expect([...r.partner]).toEqual([0]);
    expect(r.images).toEqual(images);
    expect([...r.targets]).toEqual([1]);
  });

  it('per-sample mode draws different boxes for different samples', () => {
    let differs = false;
    for (let seed = 0; seed < 20 && !differs; seed++) {
      const shape: Shape = [8, 12, 12, 1];
      const r = cutmixBatch(
        constantImages(shape),
        identityTargets(8),
        shape,
        8,
        { alpha: 1, prob: 1, perSample: true, correctLambda: true },
        rng(seed),
      );
      differs = new Set(r.boxes?.map((b) => JSON.stringify(b))).size > 1;
    }
    expect(differs).toBe(true);
  });
});

describe('cutmixBox', () => {
  it('lies within the image with sides 2 * floor(floor(side * sqrt(1 - lambda)) / 2) unless clipped', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer(),
        (lambda, h, w, seed) => {
          const b = cutmixBox(lambda, h, w, rng(seed));
          expect(0 <= b.y0 && b.y0 <= b.y1 && b.y1 <= h).toBe(true);
          expect(0 <= b.x0 && b.x0 <= b.x1 && b.x1 <= w).toBe(true);
          const cutH = Math.floor(h * Math.sqrt(1 - lambda));
          const cutW = Math.floor(w * Math.sqrt(1 - lambda));
          const sideH = 2 * Math.floor(cutH / 2);
          const sideW = 2 * Math.floor(cutW / 2);
          expect(b.y1 - b.y0).toBeLessThanOrEqual(sideH);
          expect(b.x1 - b.x0).toBeLessThanOrEqual(sideW);
          if (b.y0 > 0 && b.y1 < h) expect(b.y1 - b.y0).toBe(sideH);
          if (b.x0 > 0 && b.x1 < w) expect(b.x1 - b.x0).toBe(sideW);
          expect(boxArea(b)).toBeLessThanOrEqual(h * w * (1 - lambda) + 1e-9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lambda 1 gives an empty box', () => {
    for (let s = 0; s < 20; s++) expect(boxArea(cutmixBox(1, 10, 7, rng(s)))).toBe(0);
  });

  it('the centre is uniform: with lambda 0 on a 1-row strip every column is a box centre', () => {
    // lambda 0, width 9: sides 8, the box is [cx - 4, cx + 4) clipped; cx = x0 + 4 when x0 > 0.
    const centres = new Set<number>();
    const r = rng(11);
    for (let t = 0; t < 400; t++) {
      const b = cutmixBox(0, 1, 9, r);
      centres.add(b.x0 > 0 ? b.x0 + 4 : b.x1 - 4);
    }
    expect([...centres].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

function randomImages(length: number, r: Rng): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = r.next();
  return out;
}

describe('mixupBatch', () => {
  it('every pixel is w * own + (1 - w) * partner, labels blended with the same w', () => {
    fc.assert(
      fc.property(shapeArb, alphaArb, probArb, fc.boolean(), fc.integer(), (shape, alpha, prob, perSample, seed) => {
        const [n, h, w, c] = shape;
        const per = h * w * c;
        const images = randomImages(n * per, rng(seed, 'data'));
        const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 3);
        const targets = oneHotLabels(labels, 3);
        const imagesBefore = Float32Array.from(images);
        const targetsBefore = Float32Array.from(targets);
        const r = mixupBatch(images, targets, shape, 3, { alpha, prob, perSample }, rng(seed, 'mixup'));
        expect(images).toEqual(imagesBefore);
        expect(targets).toEqual(targetsBefore);
        expectPermutation(r.partner, n);
        for (const s of rowSums(r.targets, 3)) expect(Math.abs(s - 1)).toBeLessThan(1e-6);
        for (let i = 0; i < n; i++) {
          const p = r.partner[i] as number;
          const wt = r.weight[i] as number;
          expect(wt >= 0 && wt <= 1).toBe(true);
          if (!perSample) expect(wt).toBe(r.weight[0]);
          for (let j = 0; j < per; j++) {
            const expected = wt * (images[i * per + j] as number) + (1 - wt) * (images[p * per + j] as number);
            expect(Math.abs((r.images[i * per + j] as number) - expected)).toBeLessThan(1e-6);
          }
          for (let k = 0; k < 3; k++) {
            const expected = wt * (targets[i * 3 + k] as number) + (1 - wt) * (targets[p * 3 + k] as number);
            expect(Math.abs((r.targets[i * 3 + k] as number) - expected)).toBeLessThan(1e-6);
          }
        }
        if (prob === 0) {
          expect(r.images).toEqual(images);
          expect(r.targets).toEqual(targets);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('is linear in the images: mixing s * x gives s * mix(x) with the same seed', () => {
    fc.assert(
      fc.property(
        shapeArb,
        alphaArb,
        fc.boolean(),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        fc.integer(),
        (shape, alpha, perSample, s, seed) => {
          const [n, h, w, c] = shape;
          const images = randomImages(n * h * w * c, rng(seed, 'data'));
          const scaled = images.map((v) => v * s);
          const targets = identityTargets(n);
          const opts = { alpha, prob: 1, perSample };
          const a = mixupBatch(images, targets, shape, n, opts, rng(seed, 'mixup'));
          const b = mixupBatch(scaled, targets, shape, n, opts, rng(seed, 'mixup'));
          expect(b.targets).toEqual(a.targets);
          for (let j = 0; j < images.length; j++)
            expect(Math.abs((b.images[j] as number) - s * (a.images[j] as number))).toBeLessThan(1e-5 * s);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('lambda ~ Beta(alpha, alpha)', () => {
  function moments(xs: Float64Array): { mean: number; variance: number; m4: number } {
    const n = xs.length;
    let mean = 0;
    for (const x of xs) mean += x;
    mean /= n;
    let m2 = 0;
    let m4 = 0;
    for (const x of xs) {
      const d = x - mean;
      m2 += d * d;
      m4 += d ** 4;
    }
    return { mean, variance: m2 / n, m4: m4 / n };
  }

  /** Mean and variance within 5 standard errors of the analytic ones (SEs from the sample size). */
  function expectBetaMoments(xs: Float64Array, a: number, b: number): void {
    const n = xs.length;
    const mean = a / (a + b);
    const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    const m = moments(xs);
    expect(Math.abs(m.mean - mean)).toBeLessThan(5 * Math.sqrt(variance / n));
    // SE of the sample variance: sqrt((mu4 - sigma^4) / n), mu4 estimated from the sample.
    expect(Math.abs(m.variance - variance)).toBeLessThan(5 * Math.sqrt(Math.max(m.m4 - m.variance ** 2, 1e-12) / n));
  }

  const N = 20000;
  const sample = (a: number, b: number, seed: number): Float64Array => {
    const r = rng(seed, 'beta', a, b);
    return Float64Array.from({ length: N }, () => r.beta(a, b));
  };

  it.each([
    [0.2, 0.2],
    [1, 1],
    [2, 2],
    [0.5, 3],
    [2, 5],
  ])('Rng.beta(%s, %s) has the analytic mean and variance and stays in [0, 1]', (a, b) => {
    const xs = sample(a, b, 7);
    for (const x of xs) expect(x >= 0 && x <= 1).toBe(true);
    expectBetaMoments(xs, a, b);
  });

  function ksStatistic(xs: Float64Array, cdf: (x: number) => number): number {
    const sorted = Float64Array.from(xs).sort();
    const n = sorted.length;
    let d = 0;
    sorted.forEach((x, i) => {
      const f = cdf(x);
      d = Math.max(d, (i + 1) / n - f, f - i / n);
    });
    return d;
  }

  // Kolmogorov-Smirnov critical value at the 0.001 level: 1.95 / sqrt(n).
  it('Kolmogorov-Smirnov: Beta(1, 1) is uniform', () => {
    expect(ksStatistic(sample(1, 1, 13), (x) => x)).toBeLessThan(1.95 / Math.sqrt(N));
  });

  it('Kolmogorov-Smirnov: Beta(2, 2) has CDF 3x^2 - 2x^3', () => {
    const cdf = (x: number): number => 3 * x * x - 2 * x * x * x;
    expect(ksStatistic(sample(2, 2, 13), cdf)).toBeLessThan(1.95 / Math.sqrt(N));
    // and the test has power: uniform draws are rejected against it
    expect(ksStatistic(sample(1, 1, 13), cdf)).toBeGreaterThan(1.95 / Math.sqrt(N));
  });

  it.each([0.2, 1, 2])('the weight mixupBatch draws for a batch of one follows Beta(%s, %s)', (alpha) => {
    const n = 5000;
    const shape: Shape = [1, 1, 1, 1];
    const images = new Float32Array([0.5]);
    const targets = new Float32Array([1]);
    const ws = Float64Array.from(
      { length: n },
      (_, s) => mixupBatch(images, targets, shape, 1, { alpha, prob: 1, perSample: false }, rng(99, 'mixup', 0, s)).weight[0] as number,
    );
    expectBetaMoments(ws, alpha, alpha);
  });
});

describe('oneHotLabels and smoothLabels', () => {
  it('one-hot rows sum to 1 with the 1 at the label', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 20 })
          .chain((k) => fc.tuple(fc.constant(k), fc.array(fc.integer({ min: 0, max: k - 1 }), { maxLength: 30 }))),
        ([k, labels]) => {
          const t = oneHotLabels(Int32Array.from(labels), k);
          expect(t.length).toBe(labels.length * k);
          labels.forEach((l, i) => {
            expect(t[i * k + l]).toBe(1);
          });
          for (const s of rowSums(t, k)) expect(s).toBe(1);
        },
      ),
    );
  });

  it('a label out of range throws naming the label', () => {
    expect(() => oneHotLabels(Int32Array.from([0, 1, 5]), 3)).toThrow(/label 5\b/);
    expect(() => oneHotLabels(Int32Array.from([0, 3]), 3)).toThrow(/label 3\b/);
    expect(() => oneHotLabels(Int32Array.from([-1]), 3)).toThrow(/label -1\b/);
  });

  it('smoothed rows still sum to 1, with eps / K off-label and 1 - eps + eps / K on it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (k, eps, seed) => {
          const r = rng(seed);
          const labels = Int32Array.from({ length: 6 }, () => r.int(k));
          const t = smoothLabels(oneHotLabels(labels, k), k, eps);
          for (const s of rowSums(t, k)) expect(Math.abs(s - 1)).toBeLessThan(1e-5);
          labels.forEach((l, i) => {
            for (let j = 0; j < k; j++)
              expect(Math.abs((t[i * k + j] as number) - (j === l ? 1 - eps + eps / k : eps / k))).toBeLessThan(1e-6);
          });
        },
      ),
    );
  });
});

describe('mixing in place', () => {
  const shapes = fc.tuple(
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 7 }),
    fc.integer({ min: 1, max: 7 }),
    fc.integer({ min: 1, max: 3 }),
  );
  const filled = (n: number, seed: number): Float32Array => {
    const r = rng(seed, 'pixels');
    return Float32Array.from({ length: n }, () => r.next());
  };

  it('cutmix in place writes exactly the new batch cutmix returns, along any permutation', () => {
    fc.assert(
      fc.property(shapes, fc.boolean(), fc.integer(), ([b, h, w, c], perSample, seed) => {
        const images = filled(b * h * w * c, seed);
        const targets = oneHotLabels(
          Int32Array.from({ length: b }, (_, i) => i % 4),
          4,
        );
        const opts = { alpha: 1, prob: 0.8, perSample, correctLambda: true };
        const before = images.slice();
        const copy = cutmixBatch(images, targets, [b, h, w, c], 4, opts, rng(seed, 'c'));
        expect(Array.from(images)).toEqual(Array.from(before)); // the copy left them alone
        const inPlace = cutmixBatch(images, targets, [b, h, w, c], 4, { ...opts, inPlace: true }, rng(seed, 'c'));
        expect(inPlace.images).toBe(images);
        expect(Array.from(inPlace.images)).toEqual(Array.from(copy.images));
        expect(Array.from(inPlace.targets)).toEqual(Array.from(copy.targets));
      }),
      { numRuns: 200 },
    );
  });

  it('mixup in place writes exactly the new batch mixup returns, along any permutation', () => {
    fc.assert(
      fc.property(shapes, fc.boolean(), fc.integer(), ([b, h, w, c], perSample, seed) => {
        const images = filled(b * h * w * c, seed);
        const targets = oneHotLabels(
          Int32Array.from({ length: b }, (_, i) => i % 4),
          4,
        );
        const opts = { alpha: 0.4, prob: 0.8, perSample };
        const copy = mixupBatch(images, targets, [b, h, w, c], 4, opts, rng(seed, 'm'));
        const inPlace = mixupBatch(images, targets, [b, h, w, c], 4, { ...opts, inPlace: true }, rng(seed, 'm'));
        expect(inPlace.images).toBe(images);
        expect(Array.from(inPlace.images)).toEqual(Array.from(copy.images));
      }),
      { numRuns: 200 },
    );
  });
});

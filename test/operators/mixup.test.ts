import { from } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { mixupBatch, oneHotLabels } from '../../src/core/mix.js';
import { rng } from '../../src/core/random.js';
import type { Batch } from '../../src/core/types.js';
import { mixup } from '../../src/operators/mixup.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** n samples of 3 x 3 x 2, sample i constant i + 1 with label i of n classes. */
function makeBatch(index: number, n = 4, epoch = 0): Batch {
  const per = 18;
  const images = new Float32Array(n * per);
  for (let i = 0; i < n; i++) images.fill(i + 1, i * per, (i + 1) * per);
  return { images, shape: [n, 3, 3, 2], labels: Int32Array.from({ length: n }, (_, i) => i), numClasses: n, epoch, index };
}

const run = (op: ReturnType<typeof mixup>, batches: Batch[]): Batch[] => {
  const out: Batch[] = [];
  from(batches)
    .pipe(op)
    .subscribe((b) => out.push(b));
  return out;
};

describe('mixup operator', () => {
  it('emits one mixed batch per batch, keyed by (seed, epoch, batch index), alpha 0.2 by default (marbles)', () => {
    const a = makeBatch(0);
    const b = makeBatch(1, 4, 3);
    const expected = (x: Batch): Batch => {
      const m = mixupBatch(
        x.images,
        oneHotLabels(x.labels, x.numClasses),
        x.shape,
        x.numClasses,
        { alpha: 0.2, prob: 1, perSample: false },
        rng(0, 'mixup', x.epoch, x.index),
      );
      return { ...x, images: m.images, targets: m.targets, stream: 1 }; // stream: the next random operator's place
    };
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b|', { a, b });
      expectObservable(source.pipe(mixup({ seed: 0 }))).toBe('x-y|', { x: expected(a), y: expected(b) });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('is deterministic per (seed, epoch, index)', () => {
    const b = makeBatch(5, 6, 1);
    const alone = run(mixup({ seed: 3 }), [b])[0];
    expect(run(mixup({ seed: 3 }), [makeBatch(0, 6, 1), b])[1]).toEqual(alone);
    for (const other of [
      { ...b, index: 6 },
      { ...b, epoch: 2 },
    ])
      expect(run(mixup({ seed: 3 }), [other])[0]?.images).not.toEqual(alone?.images);
    expect(run(mixup({ seed: 4 }), [b])[0]?.images).not.toEqual(alone?.images);
  });

  it('pixels and labels are blended with the same weight; rows sum to 1', () => {
    for (let index = 0; index < 20; index++) {
      const input = makeBatch(index, 5);
      const before = Float32Array.from(input.images);
      const [out] = run(mixup({ alpha: 1, seed: 8 }), [input]);
      if (!out?.targets) throw new Error('no targets');
      expect(input.images).toEqual(before);
      for (let i = 0; i < 5; i++) {
        const row = out.targets.subarray(i * 5, i * 5 + 5);
        expect(Math.abs(row.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-6);
        // pixel value = w * (i + 1) + sum_k t[k] * (k + 1): with one-hot labels i, the label row fixes the pixel
        const expectedPixel = row.reduce((s, v, k) => s + v * (k + 1), 0);
        for (const v of out.images.subarray(i * 18, i * 18 + 18)) expect(Math.abs(v - expectedPixel)).toBeLessThan(1e-5);
      }
    }
  });

  it('works on a batch of one; prob 0 changes nothing', () => {
    const one = makeBatch(0, 1);
    const [out] = run(mixup({ alpha: 1 }), [one]);
    expect(out?.images).toEqual(one.images);
    expect(out?.targets).toEqual(Float32Array.from([1]));
    for (const [i, o] of run(mixup({ prob: 0 }), [makeBatch(0), makeBatch(1)]).entries()) {
      expect(o.images).toEqual(makeBatch(i).images);
      expect(o.targets).toEqual(oneHotLabels(Int32Array.from([0, 1, 2, 3]), 4));
    }
  });

  it('per-sample mode draws a weight per sample', () => {
    const own = (b: Batch): number[] => Array.from({ length: b.shape[0] }, (_, i) => b.targets?.[i * b.numClasses + i] as number);
    let differs = false;
    for (let index = 0; index < 10; index++) {
      const [batchMode] = run(mixup({ alpha: 1, seed: 2 }), [makeBatch(index, 6)]);
      const [sampleMode] = run(mixup({ alpha: 1, seed: 2, perSample: true }), [makeBatch(index, 6)]);
      if (!batchMode || !sampleMode) throw new Error('missing');
      // batch mode: one weight for the batch (a sample paired with itself keeps weight 1)
      expect(new Set(own(batchMode).filter((w) => w < 1)).size).toBeLessThanOrEqual(1);
      if (new Set(own(sampleMode).filter((w) => w < 1)).size > 1) differs = true;
    }
    expect(differs).toBe(true);
  });

  it('label errors, source errors, empty source, early unsubscription', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const bad: Batch = { ...makeBatch(0, 2), labels: Int32Array.from([-3, 0]) };
      const s1 = cold('a|', { a: bad });
      expectObservable(s1.pipe(mixup())).toBe('#', {}, expect.objectContaining({ message: expect.stringMatching(/label -3\b/) }));
      expectSubscriptions(s1.subscriptions).toBe('(^!)');
      const err = new Error('nope');
      const s2 = cold<Batch>('-#', {}, err);
      expectObservable(s2.pipe(mixup())).toBe('-#', {}, err);
      expectSubscriptions(s2.subscriptions).toBe('^!');
      expectObservable(cold<Batch>('|').pipe(mixup())).toBe('|');
      const a = makeBatch(0, 1);
      const s3 = cold('a-a-a-a|', { a });
      expectObservable(s3.pipe(mixup()), '^---!').toBe('x-x-', { x: { ...a, targets: Float32Array.from([1]), stream: 1 } });
      expectSubscriptions(s3.subscriptions).toBe('^---!');
    });
  });

  it('a firehose into take(3) stops pulling the source', () => {
    const { values, pulled } = firehoseIntoTake3(mixup(), (i): Batch => makeBatch(i, 2));
    expect([values.length, pulled]).toEqual([3, 3]);
  });

  it('validates options at creation: RangeErrors naming the option', () => {
    expect(() => mixup({ alpha: 0 })).toThrow(RangeError);
    expect(() => mixup({ alpha: -2 })).toThrow(/alpha/);
    expect(() => mixup({ prob: 2 })).toThrow(/prob/);
    expect(() => mixup({ seed: Number.POSITIVE_INFINITY })).toThrow(/seed/);
  });
});

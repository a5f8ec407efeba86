import { from, map, share, Subject, switchMap, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { cutmixBatch, oneHotLabels } from '../../src/core/mix.js';
import { rng } from '../../src/core/random.js';
import type { Batch, ImageSample } from '../../src/core/types.js';
import { batch } from '../../src/operators/batch.js';
import { cutmix } from '../../src/operators/cutmix.js';
import { labelSmoothing } from '../../src/operators/labelSmoothing.js';
import { mixup } from '../../src/operators/mixup.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** n samples of h x w x 1, sample i constant i + 1 with label i of n classes. */
function makeBatch(index: number, n = 4, epoch = 0, h = 8, w = 8): Batch {
  const per = h * w;
  const images = new Float32Array(n * per);
  for (let i = 0; i < n; i++) images.fill(i + 1, i * per, (i + 1) * per);
  return { images, shape: [n, h, w, 1], labels: Int32Array.from({ length: n }, (_, i) => i), numClasses: n, epoch, index };
}

const run = (op: ReturnType<typeof cutmix>, batches: Batch[]): Batch[] => {
  const out: Batch[] = [];
  from(batches)
    .pipe(op)
    .subscribe((b) => out.push(b));
  return out;
};

/** Fraction of sample i's pixels that are its own. */
function ownFractions(b: Batch): number[] {
  const [n, h, w, c] = b.shape;
  const per = h * w * c;
  return Array.from({ length: n }, (_, i) => b.images.subarray(i * per, (i + 1) * per).filter((v) => v === i + 1).length / per);
}

describe('cutmix operator', () => {
  it('emits one mixed batch per batch, keyed by (seed, epoch, batch index) (marbles)', () => {
    const a = makeBatch(0);
    const b = makeBatch(1);
    const expected = (x: Batch): Batch => {
      const m = cutmixBatch(
        x.images,
        oneHotLabels(x.labels, x.numClasses),
        x.shape,
        x.numClasses,
        { alpha: 1, prob: 1, perSample: false, correctLambda: true },
        rng(5, 'cutmix', x.epoch, x.index),
      );
      return { ...x, images: m.images, targets: m.targets, stream: 1 }; // stream: the next random operator's place
    };
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a--b-|', { a, b });
      expectObservable(source.pipe(cutmix({ seed: 5 }))).toBe('-x--y-|', { x: expected(a), y: expected(b) });
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('is deterministic per (seed, epoch, index) whatever else happened in the stream', () => {
    const b3 = makeBatch(3, 6, 2);
    const alone = run(cutmix({ seed: 9, alpha: 1 }), [b3])[0];
    const after = run(cutmix({ seed: 9, alpha: 1 }), [makeBatch(0, 6, 2), makeBatch(1, 6, 2), b3])[2];
    expect(after).toEqual(alone);
    const otherIndex = run(cutmix({ seed: 9 }), [{ ...b3, index: 4 }])[0];
    const otherEpoch = run(cutmix({ seed: 9 }), [{ ...b3, epoch: 3 }])[0];
    const otherSeed = run(cutmix({ seed: 10 }), [b3])[0];
    for (const o of [otherIndex, otherEpoch, otherSeed]) expect(o?.images).not.toEqual(alone?.images);
  });

  it('targets are the exact pixel fractions, rows sum to 1, and the input batch is untouched', () => {
    for (let index = 0; index < 30; index++) {
      const input = makeBatch(index, 5);
      const before = Float32Array.from(input.images);
      const [out] = run(cutmix({ seed: 1 }), [input]);
      if (!out?.targets) throw new Error('no targets');
      expect(input.images).toEqual(before);
      expect(input.targets).toBeUndefined();
      const own = ownFractions(out);
      for (let i = 0; i < 5; i++) {
        const row = out.targets.subarray(i * 5, (i + 1) * 5);
        expect(Math.abs(row.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-6);
        expect(Math.abs((row[i] as number) - (own[i] as number))).toBeLessThan(1e-6);
      }
    }
  });

  it('works on a batch of one: nothing to mix with', () => {
    const b = makeBatch(0, 1);
    const [out] = run(cutmix({ seed: 2 }), [b]);
    expect(out?.images).toEqual(b.images);
    expect(out?.targets).toEqual(Float32Array.from([1]));
    expect(out?.shape).toEqual([1, 8, 8, 1]);
  });

  it('prob 0 leaves pixels unchanged and labels one-hot', () => {
    const batches = Array.from({ length: 10 }, (_, i) => makeBatch(i, 3));
    for (const [i, out] of run(cutmix({ prob: 0, seed: 3 }), batches).entries()) {
      expect(out.images).toEqual(batches[i]?.images);
      expect(out.targets).toEqual(oneHotLabels(Int32Array.from([0, 1, 2]), 3));
    }
  });

  it('per-sample mode mixes samples independently; batch mode uses one box for all', () => {
    let perSampleDiffers = false;
    for (let index = 0; index < 40; index++) {
      const [batchMode] = run(cutmix({ seed: 4 }), [makeBatch(index, 6, 0, 12, 12)]);
      const [sampleMode] = run(cutmix({ seed: 4, perSample: true }), [makeBatch(index, 6, 0, 12, 12)]);
      if (!batchMode || !sampleMode) throw new Error('missing');
      // in batch mode every sample mixed with another one lost the same number of pixels
      const mixed = ownFractions(batchMode).filter((f) => f < 1);
      expect(new Set(mixed).size).toBeLessThanOrEqual(1);
      if (new Set(ownFractions(sampleMode).filter((f) => f < 1)).size > 1) perSampleDiffers = true;
    }
    expect(perSampleDiffers).toBe(true);
  });

  it('mixes existing soft targets (after labelSmoothing)', () => {
    const [out] = (() => {
      const res: Batch[] = [];
      from([makeBatch(0, 4)])
        .pipe(labelSmoothing(0.2), cutmix({ seed: 1 }))
        .subscribe((b) => res.push(b));
      return res;
    })();
    if (!out?.targets) throw new Error('no targets');
    for (const v of out.targets) expect(v).toBeGreaterThanOrEqual(0.05 - 1e-6);
    for (let i = 0; i < 4; i++) expect(Math.abs(out.targets.subarray(i * 4, i * 4 + 4).reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-6);
  });

  it('a label out of range errors naming the label; source errors propagate; empty completes', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const bad: Batch = { ...makeBatch(0, 2), labels: Int32Array.from([0, 12]) };
      const s1 = cold('-a-a|', { a: bad });
      expectObservable(s1.pipe(cutmix())).toBe('-#', {}, expect.objectContaining({ message: expect.stringMatching(/label 12\b/) }));
      expectSubscriptions(s1.subscriptions).toBe('^!');
      const err = new Error('disk');
      const s2 = cold<Batch>('---#', {}, err);
      expectObservable(s2.pipe(cutmix())).toBe('---#', {}, err);
      expectSubscriptions(s2.subscriptions).toBe('^--!');
      expectObservable(cold<Batch>('-|').pipe(cutmix())).toBe('-|');
    });
  });

  it('early unsubscription unsubscribes the source', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = makeBatch(0, 1);
      const source = cold('a-a-a-a-|', { a });
      expectObservable(source.pipe(cutmix({ prob: 0 })), '^--!').toBe('x-x', { x: { ...a, targets: Float32Array.from([1]), stream: 1 } });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('a firehose into take(3) stops pulling the source', () => {
    const { values, pulled } = firehoseIntoTake3(cutmix(), (i): Batch => makeBatch(i, 2, 0, 2, 2));
    expect([values.length, pulled]).toEqual([3, 3]);
  });

  it('validates options at creation: RangeErrors naming the option', () => {
    for (const alpha of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => cutmix({ alpha })).toThrow(/alpha/);
    for (const prob of [-0.1, 1.5, Number.NaN]) expect(() => cutmix({ prob })).toThrow(/prob/);
    expect(() => cutmix({ seed: Number.NaN })).toThrow(/seed/);
    expect(() => cutmix({ alpha: 0 })).toThrow(RangeError);
  });
});

describe('cutmix and mixup straight after batch (in place)', () => {
  /** 12 byte samples of 6 x 5 x 3, all different. */
  const samples = (): Observable<ImageSample> =>
    from(
      Array.from({ length: 12 }, (_, i): ImageSample => ({
        image: Uint8Array.from({ length: 90 }, (_, k) => (i * 37 + k * 11) & 255),
        delta: i / 100,
        height: 6,
        width: 5,
        channels: 3,
        label: i % 3,
        numClasses: 3,
        epoch: 0,
        index: i,
        origin: `s${i}`,
      })),
    );
  const collect = (o: Observable<Batch>): Batch[] => {
    const out: Batch[] = [];
    o.subscribe((b) => out.push(b));
    return out;
  };
  const values = (bs: Batch[]) => bs.map((b) => [Array.from(b.images), Array.from(b.targets ?? [])]);

  for (const [name, mix] of [
    ['cutmix', () => cutmix({ alpha: 1, seed: 3, perSample: true })],
    ['mixup', () => mixup({ alpha: 0.4, seed: 3, perSample: true })],
  ] as const) {
    it(`${name}: the same batches as mixing a copy (what it does after any other operator)`, () => {
      const inPlace = collect(samples().pipe(batch(4), mix(), mix()));
      const copied = collect(
        samples().pipe(
          batch(4),
          map((b) => b),
          mix(),
          map((b) => b),
          mix(),
        ),
      );
      expect(values(inPlace)).toEqual(values(copied));
    });

    it(`${name}: a batch shared with another subscriber (share() before it) is copied, not changed`, () => {
      const plain = collect(samples().pipe(batch(4)));
      const start = new Subject<void>();
      const shared$ = start.pipe(switchMap(samples), batch(4), share());
      const mixed = collect(shared$.pipe(mix())); // subscribed first: it sees each batch first
      const seen = collect(shared$);
      start.next();
      expect(mixed.length).toBe(3);
      expect(values(mixed)).not.toEqual(values(plain));
      expect(values(seen)).toEqual(values(plain));
    });
  }
});

import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Batch, ImageSample } from '../../src/core/types.js';
import { Credit, withCredit } from '../../src/flow/credit.js';
import { batch, packBatch } from '../../src/operators/batch.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A 2 x 1 x 2 image whose values encode the index: [10i, 10i + 1, 10i + 2, 10i + 3]. */
function sample(index: number, epoch = 0, over: Partial<ImageSample> = {}): ImageSample {
  return {
    image: Float32Array.from([0, 1, 2, 3], (v) => 10 * index + v),
    height: 2,
    width: 1,
    channels: 2,
    label: index % 3,
    numClasses: 3,
    epoch,
    index,
    origin: `img-${index}.png`,
    ...over,
  };
}

function expectedBatch(indices: number[], index: number, epoch = 0): Batch {
  return {
    images: Float32Array.from(indices.flatMap((i) => [0, 1, 2, 3].map((v) => 10 * i + v))),
    shape: [indices.length, 2, 1, 2],
    labels: Int32Array.from(indices, (i) => i % 3),
    numClasses: 3,
    epoch,
    index,
  };
}

describe('batch', () => {
  it('packs contiguous [B, H, W, C] images and labels, keeping the remainder (marbles)', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-e-|', { a: sample(0), b: sample(1), c: sample(2), d: sample(3), e: sample(4) });
      expectObservable(source.pipe(batch(2))).toBe('---x---y---(z|)', {
        x: expectedBatch([0, 1], 0),
        y: expectedBatch([2, 3], 1),
        z: expectedBatch([4], 2),
      });
      expectSubscriptions(source.subscriptions).toBe('^----------!');
    });
  });

  it('drops the remainder with dropRemainder', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', { a: sample(0), b: sample(1), c: sample(2) });
      expectObservable(source.pipe(batch(2, { dropRemainder: true }))).toBe('-x-|', { x: expectedBatch([0, 1], 0) });
      const exact = cold('ab|', { a: sample(0), b: sample(1) });
      expectObservable(exact.pipe(batch(2, { dropRemainder: true }))).toBe('-x|', { x: expectedBatch([0, 1], 0) });
    });
  });

  it('takes the epoch of its samples', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: sample(7, 4) }).pipe(batch(3))).toBe('-(x|)', { x: expectedBatch([7], 0, 4) });
    });
  });

  it('counts batch indices per subscription', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab|', { a: sample(0), b: sample(1) });
      const batched = source.pipe(batch(1));
      const values = { x: expectedBatch([0], 0), y: expectedBatch([1], 1) };
      expectObservable(batched).toBe('xy|', values);
      expectObservable(batched).toBe('xy|', values);
    });
  });

  it('a shape mismatch errors the stream naming the sample', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const odd = sample(1, 0, { image: new Float32Array(6), height: 3, origin: 'dogs/odd-one.jpg' });
      const source = cold('a-b-c|', { a: sample(0), b: odd, c: sample(2) });
      expectObservable(source.pipe(batch(2))).toBe(
        '--#',
        {},
        expect.objectContaining({ name: 'RangeError', message: expect.stringContaining('dogs/odd-one.jpg') }),
      );
      expectSubscriptions(source.subscriptions).toBe('^-!');
      const classes = cold('ab|', { a: sample(0), b: sample(1, 0, { numClasses: 5, origin: 'five.png' }) });
      expectObservable(classes.pipe(batch(2))).toBe('-#', {}, expect.objectContaining({ message: expect.stringContaining('five.png') }));
    });
  });

  it('propagates source errors, completes empty, unsubscribes early', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const err = new Error('gone');
      const s1 = cold('a-b-#', { a: sample(0), b: sample(1) }, err);
      expectObservable(s1.pipe(batch(2))).toBe('--x-#', { x: expectedBatch([0, 1], 0) }, err);
      expectSubscriptions(s1.subscriptions).toBe('^---!');
      const s2 = cold('a-#', { a: sample(0) }, err);
      expectObservable(s2.pipe(batch(2))).toBe('--#', {}, err); // the partial batch is not emitted
      expectObservable(cold<ImageSample>('---|').pipe(batch(4))).toBe('---|');
      const s3 = cold('abcdefgh|', {
        a: sample(0),
        b: sample(1),
        c: sample(2),
        d: sample(3),
        e: sample(4),
        f: sample(5),
        g: sample(6),
        h: sample(7),
      });
      expectObservable(s3.pipe(batch(2)), '^---!').toBe('-x-y', { x: expectedBatch([0, 1], 0), y: expectedBatch([2, 3], 1) });
      expectSubscriptions(s3.subscriptions).toBe('^---!');
    });
  });

  it('a firehose into take(3) stops pulling the source after 3 batches', () => {
    const { values, pulled } = firehoseIntoTake3(batch(4), (i): ImageSample => sample(i));
    expect(values.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(pulled).toBe(12);
  });

  it('packBatch copies images (no aliasing) and rejects an empty batch', () => {
    const s = sample(1);
    const b = packBatch([s], 0);
    b.images[0] = -1;
    expect(s.image[0]).toBe(10);
    expect(() => packBatch([], 0)).toThrow(RangeError);
  });

  it('declares its buffer to the credit, holds its samples until the batch is taken, and releases a dropped remainder', () => {
    const credit = new Credit();
    const input = new Subject<ImageSample>();
    const taken: number[] = [];
    // The consumer takes each batch's credit, as a sink does.
    withCredit(credit, () =>
      input.pipe(batch(4, { dropRemainder: true })).subscribe((b) => (credit.receive(b.shape[0]), taken.push(b.shape[0]))),
    );
    expect(credit.limit).toBe(1 * 4 + 3);
    for (let i = 0; i < 6; i++) {
      void credit.acquire();
      credit.handoff(1, () => input.next(sample(i)));
    }
    expect(taken).toEqual([4]);
    expect(credit.inFlight).toBe(6); // 4 with the consumer, 2 in the batcher
    input.complete();
    expect(credit.inFlight).toBe(4); // the 2 dropped samples came back
  });

  it('validates size at creation: a RangeError naming it', () => {
    for (const size of [0, -2, 1.5, Number.NaN]) {
      expect(() => batch(size)).toThrow(RangeError);
      expect(() => batch(size)).toThrow(/size/);
    }
  });
});

import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/core/types.js';
import { oneHot } from '../../src/operators/oneHot.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function makeBatch(index: number, labels: number[], numClasses = 3, epoch = 0): Batch {
  const n = labels.length;
  return { images: new Float32Array(n * 2).fill(index), shape: [n, 1, 2, 1], labels: Int32Array.from(labels), numClasses, epoch, index };
}

describe('oneHot', () => {
  it('adds one-hot targets, batch by batch (marbles)', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = makeBatch(0, [0, 2]);
      const b = makeBatch(1, [1]);
      const source = cold('-a-b-|', { a, b });
      expectObservable(source.pipe(oneHot())).toBe('-x-y-|', {
        x: { ...a, targets: Float32Array.from([1, 0, 0, 0, 0, 1]) },
        y: { ...b, targets: Float32Array.from([0, 1, 0]) },
      });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('an explicit numClasses overrides the batch one', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const a = makeBatch(0, [1], 2);
      expectObservable(cold('a|', { a }).pipe(oneHot(4))).toBe('x|', {
        x: { ...a, numClasses: 4, targets: Float32Array.from([0, 1, 0, 0]) },
      });
    });
  });

  it('a label out of range errors the stream naming the label, and unsubscribes the source', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = makeBatch(0, [0]);
      const bad = makeBatch(1, [1, 7]);
      const source = cold('-a-b-a-|', { a, b: bad });
      expectObservable(source.pipe(oneHot())).toBe(
        '-x-#',
        { x: { ...a, targets: Float32Array.from([1, 0, 0]) } },
        expect.objectContaining({ name: 'RangeError', message: expect.stringMatching(/label 7\b/) }),
      );
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('an error from the source propagates', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = makeBatch(0, [0]);
      const source = cold('-a-#', { a }, new Error('boom'));
      expectObservable(source.pipe(oneHot())).toBe('-x-#', { x: { ...a, targets: Float32Array.from([1, 0, 0]) } }, new Error('boom'));
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('an empty source completes empty', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<Batch>('--|').pipe(oneHot())).toBe('--|');
    });
  });

  it('early unsubscription unsubscribes the source', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = makeBatch(0, [2]);
      const source = cold('-a-a-a-a-|', { a });
      const x = { ...a, targets: Float32Array.from([0, 0, 1]) };
      expectObservable(source.pipe(oneHot()), '^--!').toBe('-x-', { x });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('a firehose into take(3) stops pulling the source', () => {
    const { values, pulled } = firehoseIntoTake3(oneHot(), (i): Batch => makeBatch(i, [i % 3]));
    expect(values.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(pulled).toBe(3);
  });

  it('validates numClasses at creation', () => {
    for (const k of [0, -1, 1.5, Number.NaN]) expect(() => oneHot(k)).toThrow(/numClasses/);
    expect(() => oneHot(0)).toThrow(RangeError);
  });
});

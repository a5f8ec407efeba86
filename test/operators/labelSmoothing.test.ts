import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/core/types.js';
import { labelSmoothing } from '../../src/operators/labelSmoothing.js';
import { oneHot } from '../../src/operators/oneHot.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function makeBatch(index: number, labels: number[], numClasses = 4, epoch = 0): Batch {
  const n = labels.length;
  return { images: new Float32Array(n).fill(index), shape: [n, 1, 1, 1], labels: Int32Array.from(labels), numClasses, epoch, index };
}

const f = (xs: number[]): Float32Array => Float32Array.from(xs);

describe('labelSmoothing', () => {
  it('smooths one-hot labels: t * (1 - eps) + eps / K (marbles)', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = makeBatch(0, [0, 3]);
      const source = cold('-a-|', { a });
      expectObservable(source.pipe(labelSmoothing(0.2))).toBe('-x-|', {
        x: { ...a, targets: f([0.85, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.85]) },
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('smooths existing soft targets rather than the hard labels', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const a: Batch = { ...makeBatch(0, [0], 2), targets: f([0.5, 0.5]) };
      expectObservable(cold('a|', { a }).pipe(labelSmoothing(0.5))).toBe('x|', { x: { ...a, targets: f([0.5, 0.5]) } });
      const b: Batch = { ...makeBatch(0, [0], 2), targets: f([0.25, 0.75]) };
      expectObservable(cold('b|', { b }).pipe(labelSmoothing(0.5))).toBe('x|', { x: { ...b, targets: f([0.375, 0.625]) } });
    });
  });

  it('epsilon 0 equals oneHot', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const a = makeBatch(0, [1, 2]);
      expectObservable(cold('a|', { a }).pipe(labelSmoothing(0))).toBe('x|', { x: { ...a, targets: f([0, 1, 0, 0, 0, 0, 1, 0]) } });
      expectObservable(cold('a|', { a }).pipe(oneHot(), labelSmoothing(0))).toBe('x|', {
        x: { ...a, targets: f([0, 1, 0, 0, 0, 0, 1, 0]) },
      });
    });
  });

  it('a label out of range errors naming the label', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b|', { a: makeBatch(0, [0, 9]), b: makeBatch(1, [0]) });
      expectObservable(source.pipe(labelSmoothing(0.1))).toBe(
        '-#',
        {},
        expect.objectContaining({ message: expect.stringMatching(/label 9\b/) }),
      );
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
  });

  it('propagates source errors, completes empty, and unsubscribes early', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const err = new Error('source failed');
      const s1 = cold<Batch>('--#', {}, err);
      expectObservable(s1.pipe(labelSmoothing(0.1))).toBe('--#', {}, err);
      expectSubscriptions(s1.subscriptions).toBe('^-!');
      expectObservable(cold<Batch>('|').pipe(labelSmoothing(0.1))).toBe('|');
      const a = makeBatch(0, [0], 1);
      const s2 = cold('a-a-a-a|', { a });
      expectObservable(s2.pipe(labelSmoothing(0.5)), '^-!').toBe('x-', { x: { ...a, targets: f([1]) } });
      expectSubscriptions(s2.subscriptions).toBe('^-!');
    });
  });

  it('a firehose into take(3) stops pulling the source', () => {
    const { values, pulled } = firehoseIntoTake3(labelSmoothing(0.1), (i): Batch => makeBatch(i, [0]));
    expect([values.length, pulled]).toEqual([3, 3]);
  });

  it('validates epsilon at creation: a RangeError naming it', () => {
    for (const eps of [1, -0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => labelSmoothing(eps)).toThrow(RangeError);
      expect(() => labelSmoothing(eps)).toThrow(/epsilon/);
    }
  });
});

import { from, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { ImageSample } from '../../src/core/types.js';
import { Credit, withCredit } from '../../src/flow/credit.js';
import { batch } from '../../src/operators/batch.js';
import { prefetch } from '../../src/operators/prefetch.js';
import { shuffleWindow } from '../../src/operators/shuffleWindow.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('prefetch', () => {
  it('passes values through unchanged (marbles)', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b--c|', { a: 1, b: 2, c: 3 });
      expectObservable(source.pipe(prefetch(2))).toBe('-a-b--c|', { a: 1, b: 2, c: 3 });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('propagates errors, completes empty, unsubscribes early', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const err = new Error('x');
      const s1 = cold('a-#', { a: 1 }, err);
      expectObservable(s1.pipe(prefetch(0))).toBe('a-#', { a: 1 }, err);
      expectSubscriptions(s1.subscriptions).toBe('^-!');
      expectObservable(cold('-|').pipe(prefetch(1))).toBe('-|');
      const s2 = cold('aaaaaa|', { a: 1 });
      expectObservable(s2.pipe(prefetch(3)), '^-!').toBe('aa', { a: 1 });
      expectSubscriptions(s2.subscriptions).toBe('^-!');
    });
  });

  it('a firehose into take(3) stops pulling the source', () => {
    const { values, pulled } = firehoseIntoTake3(prefetch<number>(5), (i) => i);
    expect(values).toEqual([0, 1, 2]);
    expect(pulled).toBe(3);
  });

  it('adds count to the sink credit; composes with batch and shuffleWindow', () => {
    const c1 = new Credit();
    withCredit(c1, () => new Subject<number>().pipe(prefetch(3)).subscribe());
    expect(c1.limit).toBe(4);
    const c2 = new Credit();
    withCredit(c2, () => new Subject<ImageSample>().pipe(shuffleWindow(5), batch(4), prefetch(2)).subscribe());
    // sink 1 + prefetch 2 = 3 batches -> 3 * 4 + 3 samples in batch -> + 5 in the window
    expect(c2.limit).toBe((1 + 2) * 4 + 3 + 5);
    // without a sink there is no credit and nothing breaks
    const got: number[] = [];
    from([1, 2])
      .pipe(prefetch(2))
      .subscribe((v) => got.push(v));
    expect(got).toEqual([1, 2]);
  });

  it('validates count at creation: a RangeError naming it', () => {
    for (const n of [-1, 1.5, Number.NaN]) {
      expect(() => prefetch(n)).toThrow(RangeError);
      expect(() => prefetch(n)).toThrow(/count/);
    }
    expect(() => prefetch(0)).not.toThrow();
  });
});

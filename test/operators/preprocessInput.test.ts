import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/core/types.js';
import { descriptionOf } from '../../src/flow/describe.js';
import { batch } from '../../src/operators/batch.js';
import { preprocessInput } from '../../src/operators/preprocessInput.js';
import { collect, countingSource, firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const makeBatch = (values: number[], channels = 3): Batch => ({
  images: Float32Array.from(values),
  shape: [1, 1, values.length / channels, channels],
  labels: Int32Array.of(0),
  numClasses: 2,
  epoch: 0,
  index: 0,
});

describe('preprocessInput', () => {
  it('scales each batch for the mode, completes with the source, unsubscribes on error (marbles)', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = makeBatch([0, 0.5, 1]);
      const source = cold('-a-|', { a });
      expectObservable(source.pipe(preprocessInput({ mode: 'tf' }))).toBe('-x-|', { x: { ...a, images: Float32Array.of(-1, 0, 1) } });
      expectSubscriptions(source.subscriptions).toBe('^--!');
      const failing = cold('-a-#', { a });
      expectObservable(failing.pipe(preprocessInput({ mode: 'tf' }))).toBe('-x-#', { x: { ...a, images: Float32Array.of(-1, 0, 1) } });
      expectObservable(cold<Batch>('|').pipe(preprocessInput({ mode: 'caffe' }))).toBe('|');
    });
  });

  it('leaves a batch it does not own untouched (a new array), scales an owned batch in place', async () => {
    const a = makeBatch([0, 0.5, 1]);
    const [out] = await collect(of(a).pipe(preprocessInput({ mode: 'tf' })));
    expect(Array.from(a.images)).toEqual([0, 0.5, 1]);
    expect(out!.images).not.toBe(a.images);
    const { source } = countingSource(4, 2, 3);
    const owned = await collect(source.pipe(batch(2), preprocessInput({ mode: 'tf' })));
    const plain = await collect(countingSource(4, 2, 3).source.pipe(batch(2)));
    expect(owned.map((b) => Array.from(b.images))).toEqual(plain.map((b) => Array.from(b.images, (v) => v * 2 - 1)));
  });

  it('is recorded as a step with its mode; a bad mode or a sample before batch fails naming the option', () => {
    expect(descriptionOf(preprocessInput({ mode: 'caffe' }))).toEqual({ op: 'preprocessInput', options: { mode: 'caffe' } });
    expect(() => preprocessInput({ mode: 'keras' as 'tf' })).toThrow(/preprocessInput: option 'mode' must be one of tf, caffe, torch/);
    const { source } = countingSource(1);
    return expect(collect(source.pipe(preprocessInput({ mode: 'tf' }) as never))).rejects.toThrow(/preprocessInput/);
  });

  it('firehose into take(3): pulls no more than it emits', () => {
    const { values, pulled } = firehoseIntoTake3(preprocessInput({ mode: 'torch' }), (i) => makeBatch([i / 10, 0, 1]));
    expect(values).toHaveLength(3);
    expect(pulled).toBe(3);
  });
});

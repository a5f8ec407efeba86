import type * as tf from '@tensorflow/tfjs';
import type { MonoTypeOperatorFunction, Observable, OperatorFunction } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import {
  augment,
  batch,
  cutmix,
  fromArrays,
  imageFolder,
  interleave,
  labelSmoothing,
  mixup,
  normalizeResize,
  numClassesOf,
  oneHot,
  parallelMap,
  prefetch,
  preprocessInput,
  shuffleWindow,
  toAsyncIterable,
  toTfDataset,
  type Batch,
  type EncodedSample,
  type ImageSample,
} from '../src/index.js';

// Compile-time checks (tsc --noEmit over test/); the runtime assertions are no-ops.
describe('public operator signatures', () => {
  it('sources', () => {
    expectTypeOf(imageFolder).returns.toEqualTypeOf<Observable<EncodedSample>>();
    expectTypeOf(fromArrays).returns.toEqualTypeOf<Observable<ImageSample>>();
    expectTypeOf(interleave(imageFolder('a/'), imageFolder('b/'))).toEqualTypeOf<Observable<EncodedSample>>();
    expectTypeOf(numClassesOf).returns.toEqualTypeOf<Promise<number>>();
  });

  it('per-sample operators', () => {
    expectTypeOf(normalizeResize).returns.toEqualTypeOf<OperatorFunction<EncodedSample | ImageSample, ImageSample>>();
    expectTypeOf(augment).returns.toEqualTypeOf<OperatorFunction<ImageSample, ImageSample>>();
    expectTypeOf(shuffleWindow<ImageSample>).returns.toEqualTypeOf<MonoTypeOperatorFunction<ImageSample>>();
    expectTypeOf(shuffleWindow<EncodedSample>).returns.toEqualTypeOf<MonoTypeOperatorFunction<EncodedSample>>();
    // shuffleWindow needs items that carry their epoch and index
    // @ts-expect-error number is not a Position
    expectTypeOf(shuffleWindow<number>).toBeFunction();
    expectTypeOf(parallelMap<string, number>).returns.toEqualTypeOf<OperatorFunction<string, number>>();
    expectTypeOf(prefetch<Batch>).returns.toEqualTypeOf<MonoTypeOperatorFunction<Batch>>();
  });

  it('batch operators', () => {
    expectTypeOf(batch).returns.toEqualTypeOf<OperatorFunction<ImageSample, Batch>>();
    expectTypeOf(cutmix).returns.toEqualTypeOf<OperatorFunction<Batch, Batch>>();
    expectTypeOf(mixup).returns.toEqualTypeOf<OperatorFunction<Batch, Batch>>();
    expectTypeOf(oneHot).returns.toEqualTypeOf<OperatorFunction<Batch, Batch>>();
    expectTypeOf(labelSmoothing).returns.toEqualTypeOf<OperatorFunction<Batch, Batch>>();
    expectTypeOf(preprocessInput).returns.toEqualTypeOf<OperatorFunction<Batch, Batch>>();
    expectTypeOf(preprocessInput).parameter(0).toEqualTypeOf<{ readonly mode: 'tf' | 'caffe' | 'torch' }>();
  });

  it('sinks', () => {
    expectTypeOf(toTfDataset).parameter(0).toEqualTypeOf<Observable<Batch>>();
    expectTypeOf(toTfDataset).returns.toEqualTypeOf<tf.data.Dataset<tf.TensorContainerObject>>();
    expectTypeOf(toTfDataset).parameter(0).not.toEqualTypeOf<Observable<ImageSample>>();
    expectTypeOf(toAsyncIterable<Batch>).returns.toExtend<AsyncIterable<Batch>>();
  });

  it('a whole pipeline composes to Observable<Batch>, and a wrong order does not compile', () => {
    // Built inside functions that are never called: only their types matter here.
    const pipeline = () =>
      imageFolder('Images/', { seed: 1 }).pipe(
        normalizeResize({ size: 32 }),
        augment({ flip: 'horizontal' }),
        shuffleWindow(16),
        batch(8),
        oneHot(),
        cutmix(),
        mixup(),
        labelSmoothing(0.1),
        prefetch(2),
      );
    expectTypeOf(pipeline).returns.toEqualTypeOf<Observable<Batch>>();
    expectTypeOf(toTfDataset).toBeCallableWith(pipeline());
    const wrong = () =>
      // @ts-expect-error batches cannot be augmented per sample: cutmix before batch
      imageFolder('Images/').pipe(normalizeResize({ size: 32 }), cutmix(), batch(8));
    const encoded = () =>
      // @ts-expect-error encoded samples must be decoded (normalizeResize) before batching
      imageFolder('Images/').pipe(batch(8));
    expectTypeOf(wrong).toBeFunction();
    expectTypeOf(encoded).toBeFunction();
  });
});

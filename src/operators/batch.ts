import { Observable, type OperatorFunction } from 'rxjs';
import { uninitializedFloats, writeValues } from '../core/image.js';
import { check, type Batch, type ImageSample } from '../core/types.js';
import { subscribeInner } from '../flow/inner.js';
import { creditOf } from '../flow/credit.js';
import { expectKind } from '../core/kinds.js';
import { described } from '../flow/describe.js';
import { defined } from '../core/idioms.js';

export interface BatchOptions {
  /** Drop the last, smaller batch of an epoch (tf.data's drop_remainder). Default false. */
  readonly dropRemainder?: boolean;
}

/**
 * Packs samples of one shape into contiguous [B, H, W, C] float32 images and [B] labels. The
 * images go into `allocate(length)`: by default a new array (not zeroed: every value is written).
 */
export function packBatch(
  samples: readonly ImageSample[],
  index: number,
  allocate: (length: number) => Float32Array = uninitializedFloats,
): Batch {
  const first = samples[0];
  if (!first) throw new RangeError('batch: cannot pack an empty batch');
  const { height, width, channels, numClasses, epoch, seed, stream, source } = first;
  const per = height * width * channels;
  const images = allocate(samples.length * per);
  const labels = new Int32Array(samples.length);
  samples.forEach((s, i) => {
    if (s.height !== height || s.width !== width || s.channels !== channels) {
      throw new RangeError(
        `batch: '${s.origin}' is ${s.height}x${s.width}x${s.channels}, the batch is ${height}x${width}x${channels}; resize first (normalizeResize)`,
      );
    }
    if (s.image.length !== per)
      throw new RangeError(`batch: '${s.origin}' has ${s.image.length} values for ${s.height}x${s.width}x${s.channels}`);
    if (s.numClasses !== numClasses) throw new RangeError(`batch: '${s.origin}' has ${s.numClasses} classes, the batch ${numClasses}`);
    writeValues(s, images, i * per);
    labels[i] = s.label;
  });
  const packed: Batch = { images, shape: [samples.length, height, width, channels], labels, numClasses, epoch, index };
  // The pipeline seed and chain place go on to the batch operators' draws (core/seeds.ts).
  return {
    ...packed,
    ...defined({ seed }),
    ...defined({ stream }),
    ...defined({ source }),
  };
}

/**
 * Observables whose every batch is new and reaches only the subscriber that asked for it: those
 * of `batch`, `cutmix` and `mixup`, and of `prefetch`, `oneHot` and `labelSmoothing` after one.
 * A mixing step right after one may mix the batch in place, and `toTfDataset` may write a later
 * batch into its memory once the tensor holds a copy.
 */
export const ownsItsBatches = new WeakSet<Observable<Batch>>();

/** `result`, owning its batches when `source` does (for stages that keep no batch once passed on). */
export function passOwnership<T, R>(source: Observable<T>, result: Observable<R>): Observable<R> {
  if (ownsItsBatches.has(source as unknown as Observable<Batch>)) ownsItsBatches.add(result as unknown as Observable<Batch>);
  return result;
}

/**
 * Groups samples into batches of `size`, packed as contiguous typed arrays. Emits each full batch
 * as it fills, then the remainder on completion unless `dropRemainder`. Declares its buffer to the
 * sink's credit, converting downstream batch counts into samples; holds its samples' credit until
 * the batch is handed on (flow/credit.ts). An item that is not a decoded sample errors the stream
 * at once, naming what must come before.
 *
 * @example
 * samples$.pipe(batch(16, { dropRemainder: true }))
 */
export function batch(size: number, options: BatchOptions = {}): OperatorFunction<ImageSample, Batch> {
  const { dropRemainder = false } = options;
  check(Number.isInteger(size) && size >= 1, 'batch', 'size', `must be an integer >= 1, got ${size}`);
  return described('batch', { size, ...options }, (source: Observable<ImageSample>) => {
    const stage = {};
    const batches = new Observable<Batch>((subscriber) => {
      const credit = creditOf();
      credit?.batchesOf(size, stage);
      let index = 0;
      let buffer: ImageSample[] = [];
      const unregister = credit?.register(stage, `batch(${size})`, () => buffer.length);
      const emit = (): void => {
        const samples = buffer;
        buffer = [];
        // Into the memory of a batch the consumer gave back (the sink's release), when there is one.
        const packed = packBatch(samples, index++, (length) => credit?.spare(length) ?? uninitializedFloats(length));
        if (credit) credit.handoff(samples.length, () => subscriber.next(packed));
        else subscriber.next(packed);
      };
      const subscription = subscribeInner(source, subscriber, {
        next: (sample) => {
          try {
            expectKind('batch', 'image sample', sample);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          credit?.receive(1);
          buffer.push(sample);
          if (buffer.length === size) {
            try {
              emit();
            } catch (error) {
              subscriber.error(error);
            }
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          try {
            if (buffer.length > 0 && !dropRemainder) emit();
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        unregister?.();
        // Samples still waiting for a batch (a dropped remainder, or unsubscribed) give their credit back.
        if (buffer.length > 0) credit?.release(buffer.length);
        buffer = [];
      };
    });
    ownsItsBatches.add(batches);
    return batches;
  });
}

import { bufferCount, filter, map, Observable, type OperatorFunction } from 'rxjs';
import { uninitializedFloats, writeValues } from '../core/image.js';
import { check, type Batch, type ImageSample } from '../core/types.js';
import { creditOf } from '../flow/credit.js';

export interface BatchOptions {
  /** Drop the last, smaller batch of an epoch (tf.data's drop_remainder). Default false. */
  readonly dropRemainder?: boolean;
}

/**
 * Packs samples of one shape into contiguous [B, H, W, C] float32 images and [B] labels. The
 * images go into `allocate(length)`: by default a new array (not zeroed: every value is written).
 */
export function packBatch(samples: readonly ImageSample[], index: number, allocate: (length: number) => Float32Array = uninitializedFloats): Batch {
  const first = samples[0];
  if (!first) throw new RangeError('batch: cannot pack an empty batch');
  const { height, width, channels, numClasses, epoch } = first;
  const per = height * width * channels;
  const images = allocate(samples.length * per);
  const labels = new Int32Array(samples.length);
  samples.forEach((s, i) => {
    if (s.height !== height || s.width !== width || s.channels !== channels) {
      throw new RangeError(`batch: '${s.origin}' is ${s.height}x${s.width}x${s.channels}, the batch is ${height}x${width}x${channels}; resize first (normalizeResize)`);
    }
    if (s.image.length !== per) throw new RangeError(`batch: '${s.origin}' has ${s.image.length} values for ${s.height}x${s.width}x${s.channels}`);
    if (s.numClasses !== numClasses) throw new RangeError(`batch: '${s.origin}' has ${s.numClasses} classes, the batch ${numClasses}`);
    writeValues(s, images, i * per);
    labels[i] = s.label;
  });
  return { images, shape: [samples.length, height, width, channels], labels, numClasses, epoch, index };
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
 * Groups samples into batches of `size` (bufferCount underneath), packed as contiguous typed arrays.
 * Emits each full batch as it fills, then the remainder on completion unless `dropRemainder`.
 * Declares its buffer to the sink's credit, converting downstream batch counts into samples.
 *
 * @example
 * samples$.pipe(batch(16, { dropRemainder: true }))
 */
export function batch(size: number, options: BatchOptions = {}): OperatorFunction<ImageSample, Batch> {
  const { dropRemainder = false } = options;
  check(Number.isInteger(size) && size >= 1, 'batch', 'size', `must be an integer >= 1, got ${size}`);
  return (source) => {
    const stage = {};
    const batches = new Observable<Batch>((subscriber) => {
      const credit = creditOf();
      credit?.batchesOf(size, stage);
      let index = 0;
      return source
        .pipe(
          bufferCount(size),
          filter((samples) => {
            if (samples.length === size || !dropRemainder) return samples.length > 0;
            credit?.release(samples.length);
            return false;
          }),
          // Into the memory of a batch the consumer gave back (the sink's release), when there is one.
          map((samples) => packBatch(samples, index++, (length) => credit?.spare(length) ?? uninitializedFloats(length))),
        )
        .subscribe(subscriber);
    });
    ownsItsBatches.add(batches);
    return batches;
  };
}


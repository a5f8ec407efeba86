import { availableParallelism } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import { filter, map, type Observable, type OperatorFunction } from 'rxjs';
import { resizeBilinear, toRgb, valuesOf } from '../core/image.js';
import { check, type DataError, type EncodedSample, type ImageSample } from '../core/types.js';
import { decodeImage } from '../decode/decodeImage.js';
import { DecodedImages } from '../decode/memo.js';
import { decodePool } from '../decode/pool.js';
import { describeAs } from '../flow/identity.js';
import { kindOf } from '../core/kinds.js';
import { parallelMap } from './parallelMap.js';
import { described } from '../flow/describe.js';
import { defined } from '../core/idioms.js';

export interface NormalizeResizeOptions {
  /** Output size in pixels: one number for a square, or [height, width]. */
  readonly size: number | readonly [number, number];
  /**
   * Worker threads that decode and resize, off the main thread. 0 decodes on the main thread's
   * libuv pool instead. Default: the number of cores (os.availableParallelism()).
   */
  readonly workers?: number;
  /**
   * Images being decoded at once. Default 16: while the main thread runs a (synchronous) training
   * step it cannot hand out new work, so the workers need a batch's worth queued to stay busy.
   */
  readonly concurrency?: number;
  /** Keep input order (default) or emit as decoded, like tf.data's `deterministic`. Default true. */
  readonly deterministic?: boolean;
  /**
   * 'fail' (default): an image that cannot be decoded errors the stream, naming the file and the
   * reason. 'skip': it is dropped, counted, and reported to `onSkip`.
   */
  readonly onError?: 'fail' | 'skip';
  /** Called with each skipped image's error under onError 'skip' (a `SkipLog`'s `add` counts them). */
  readonly onSkip?: (error: DataError) => void;
  /** Largest image decoded, in pixels its header declares; a larger one is a data error. Default 40 megapixels (DEFAULT_MAX_PIXELS). */
  readonly maxPixels?: number;
  /**
   * Decoded images to reuse and add to, across epochs and pipelines of this process (files by
   * path only; see DecodedImages). Not part of the step's description: it changes no value.
   */
  readonly decoded?: DecodedImages;
}

/** Thrown (on the error channel) for an image that cannot be decoded under onError 'fail'. */
export class DecodeError extends Error {
  constructor(readonly detail: DataError) {
    super(`cannot decode '${detail.origin}': ${detail.reason}`);
    this.name = 'DecodeError';
  }
}

/**
 * Decodes and resizes to HxW: tf.image.resize's bilinear maths, values in [0, 1]. Encoded
 * samples (paths or bytes) are decoded on worker threads and emitted as byte images (value =
 * byte / 255, resized in 8 bits as PIL does); samples already decoded (in-memory arrays, CIFAR,
 * MNIST) are resized in float32 and turned into RGB.
 * Emits one ImageSample per input, in input order by default; completes with the source.
 *
 * @example
 * imageFolder('Images/').pipe(normalizeResize({ size: 224, concurrency: 4, onError: 'skip' }))
 */
export function normalizeResize(options: NormalizeResizeOptions): OperatorFunction<EncodedSample | ImageSample, ImageSample> {
  const {
    size,
    workers = availableParallelism(),
    concurrency = 16,
    deterministic = true,
    onError = 'fail',
    onSkip,
    maxPixels,
    decoded: memo,
  } = options;
  const [height, width] = typeof size === 'number' ? [size, size] : size;
  check(
    [height, width].every((d) => Number.isInteger(d) && d > 0),
    'normalizeResize',
    'size',
    `must be a positive integer or [height, width], got ${JSON.stringify(size)}`,
  );
  check(Number.isInteger(workers) && workers >= 0, 'normalizeResize', 'workers', `must be an integer >= 0, got ${workers}`);
  check(onError === 'fail' || onError === 'skip', 'normalizeResize', 'onError', `must be 'fail' or 'skip', got '${String(onError)}'`);
  check(
    maxPixels === undefined || (Number.isSafeInteger(maxPixels) && maxPixels >= 1),
    'normalizeResize',
    'maxPixels',
    `must be a positive integer, got ${String(maxPixels)}`,
  );

  const one = async (sample: EncodedSample | ImageSample): Promise<E.Either<DataError, ImageSample>> => {
    const { label, numClasses, epoch, index, origin } = sample;
    // The pipeline seed and chain place travel on (core/seeds.ts).
    const keys = {
      ...defined({ seed: sample.seed }),
      ...defined({ stream: sample.stream }),
      ...defined({ source: sample.source }),
    };
    if ('image' in sample) {
      const rgb = toRgb(valuesOf(sample), sample.height * sample.width, sample.channels);
      const image = resizeBilinear(rgb, sample.height, sample.width, 3, height, width);
      return E.right({ image, height, width, channels: 3, label, numClasses, epoch, index, origin, ...keys });
    }
    const key =
      memo !== undefined && typeof sample.input === 'string' ? DecodedImages.key(sample.input, height, width, maxPixels) : undefined;
    const kept = key === undefined ? undefined : await memo?.find(key, sample.input as string, height * width * 3);
    const decoded = kept
      ? E.right(kept)
      : await (workers > 0
          ? decodePool(workers).decode(sample.input, origin, height, width, maxPixels)
          : decodeImage(sample.input, origin, height, width, undefined, maxPixels));
    if (key !== undefined && !kept && E.isRight(decoded)) memo?.keep(key, decoded.right, sample.input as string);
    return E.map((image: Uint8Array): ImageSample => ({
      image,
      height,
      width,
      channels: 3,
      label,
      numClasses,
      epoch,
      index,
      origin,
      ...keys,
    }))(decoded);
  };

  const decodeAll = parallelMap(one, { concurrency, deterministic });
  const step = `normalizeResize(${JSON.stringify({ size: [height, width], deterministic, onError })})`;
  const { decoded: _memo, ...recorded } = options;
  return described('normalizeResize', recorded, (source: Observable<EncodedSample | ImageSample>) =>
    describeAs(
      source.pipe(
        map((sample) => {
          if (kindOf(sample) === 'batch' || (kindOf(sample) === 'other' && !('input' in (sample as object)))) {
            throw new TypeError(
              `normalizeResize: got ${kindOf(sample) === 'batch' ? 'a batch' : 'something that is not a sample'}, but it works on samples from a mixstream source: put it right after the source, before batch(n)`,
            );
          }
          return sample;
        }),
        decodeAll,
        // A skipped image is dropped here; its credit comes back on its own (flow/credit.ts).
        filter((result): result is E.Right<ImageSample> => {
          if (E.isRight(result)) return true;
          if (onError === 'fail') throw new DecodeError(result.left);
          onSkip?.(result.left);
          return false;
        }),
        map((result) => result.right),
      ),
      step,
      source,
    ),
  );
}

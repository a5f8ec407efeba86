import * as E from 'fp-ts/lib/Either.js';
import { filter, map, Observable, type OperatorFunction } from 'rxjs';
import sharp from 'sharp';
import { readFile } from 'node:fs/promises';
import turbo from '@julusian/jpeg-turbo';
import { resizeBilinear, toRgb } from '../core/image.js';
import { isJpeg, jpegOrientation } from '../core/jpeg.js';
import { check, dataError, type DataError, type EncodedSample, type ImageSample } from '../core/types.js';
import { creditOf } from '../flow/credit.js';
import { describeAs } from '../flow/identity.js';
import { parallelMap } from './parallelMap.js';

export interface NormalizeResizeOptions {
  /** Output size in pixels: one number for a square, or [height, width]. */
  readonly size: number | readonly [number, number];
  /** Images decoded at once (libvips runs each on the libuv thread pool). Default 4. */
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
}

/** Decoded pixels, HWC uint8 RGB. */
interface Raw {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** libjpeg-turbo straight from the bytes: about 3x sharp's decode here; undefined when it cannot. */
async function decodeJpegFast(bytes: Uint8Array): Promise<Raw | undefined> {
  if (!isJpeg(bytes) || jpegOrientation(bytes) !== 1) return undefined;
  try {
    return await turbo.decompress(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { format: turbo.FORMAT_RGB });
  } catch {
    return undefined; // CMYK, progressive oddities, damage: sharp decides, and names the reason
  }
}

async function decodeAny(bytes: Uint8Array): Promise<Raw> {
  const { data, info } = await sharp(bytes).autoOrient().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

/**
 * Decodes any of JPEG/PNG/WebP/GIF/TIFF to RGB with EXIF orientation applied, then resizes to
 * HxW with tf.image.resize's bilinear maths and scales to [0, 1]. Plain JPEGs (no EXIF rotation)
 * go through libjpeg-turbo; everything else through sharp (libvips). Never throws: a file that
 * cannot be read or decoded is a Left naming it and the reason.
 */
export async function decodeImage(input: string | Uint8Array, origin: string, height: number, width: number): Promise<E.Either<DataError, Float32Array>> {
  try {
    const bytes = typeof input === 'string' ? await readFile(input) : input;
    const raw = (await decodeJpegFast(bytes)) ?? (await decodeAny(bytes));
    return E.right(resizeBilinear(raw.data, raw.height, raw.width, 3, height, width));
  } catch (error) {
    return E.left(dataError(origin, error instanceof Error ? error.message : String(error)));
  }
}

/** Thrown (on the error channel) for an image that cannot be decoded under onError 'fail'. */
export class DecodeError extends Error {
  constructor(readonly detail: DataError) {
    super(`cannot decode '${detail.origin}': ${detail.reason}`);
    this.name = 'DecodeError';
  }
}

/**
 * Decodes, resizes to HxW and scales to float32 in [0, 1]: tf.image.resize + cast / 255.
 * Encoded samples (paths or bytes) are decoded with sharp; samples already decoded (in-memory
 * arrays, CIFAR, MNIST) are resized with the same bilinear maths and turned into RGB.
 * Emits one ImageSample per input, in input order by default; completes with the source.
 *
 * @example
 * imageFolder('Images/').pipe(normalizeResize({ size: 224, concurrency: 4, onError: 'skip' }))
 */
export function normalizeResize(options: NormalizeResizeOptions): OperatorFunction<EncodedSample | ImageSample, ImageSample> {
  const { size, concurrency = 4, deterministic = true, onError = 'fail', onSkip } = options;
  const [height, width] = typeof size === 'number' ? [size, size] : size;
  check([height, width].every((d) => Number.isInteger(d) && d > 0), 'normalizeResize', 'size', `must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
  check(onError === 'fail' || onError === 'skip', 'normalizeResize', 'onError', `must be 'fail' or 'skip', got '${String(onError)}'`);

  const one = async (sample: EncodedSample | ImageSample): Promise<E.Either<DataError, ImageSample>> => {
    const { label, numClasses, epoch, index, origin } = sample;
    if ('image' in sample) {
      const rgb = toRgb(sample.image, sample.height * sample.width, sample.channels);
      const image = resizeBilinear(rgb, sample.height, sample.width, 3, height, width);
      return E.right({ image, height, width, channels: 3, label, numClasses, epoch, index, origin });
    }
    return E.map((image: Float32Array) => ({ image, height, width, channels: 3, label, numClasses, epoch, index, origin }))(await decodeImage(sample.input, origin, height, width));
  };

  const decodeAll = parallelMap(one, { concurrency, deterministic });
  const step = `normalizeResize(${JSON.stringify({ size: [height, width], deterministic, onError })})`;
  return (source) =>
    describeAs(new Observable<ImageSample>((subscriber) => {
      const credit = creditOf();
      return source
        .pipe(
          decodeAll,
          filter((result): result is E.Right<ImageSample> => {
            if (E.isRight(result)) return true;
            if (onError === 'fail') throw new DecodeError(result.left);
            credit?.release(1);
            onSkip?.(result.left);
            return false;
          }),
          map((result) => result.right),
        )
        .subscribe(subscriber);
    }), step, source);
}

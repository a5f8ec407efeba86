import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import { creditOf } from '../flow/credit.js';
import { transformImage, valuesOf } from '../core/image.js';
import { check, type ImageSample } from '../core/types.js';
import { expectKind } from '../core/kinds.js';
import { nextStream, streamFor } from '../core/seeds.js';
import { described } from '../flow/describe.js';

export interface AugmentOptions {
  /** Random mirror with probability 0.5: tf.image.random_flip_left_right / _up_down. Default none. */
  readonly flip?: 'horizontal' | 'vertical' | 'both' | 'none';
  /** Max brightness delta d: adds a uniform delta in [-d, d], as tf.image.random_brightness. Default 0. */
  readonly brightness?: number;
  /** Clip to [0, 1] after brightness (tf.image.random_brightness does not). Default false. */
  readonly clip?: boolean;
  /**
   * Seed; the draws of sample i in epoch e are keyed by (seed, e, i), never by arrival order.
   * Default: the pipeline's seed (the source's `seed`) and this operator's place in the chain, so
   * two unseeded augments draw independently (core/seeds.ts).
   */
  readonly seed?: number;
}

/**
 * Random per-sample augmentation on decoded images: flips, then brightness. Emits a new sample per
 * sample (inputs are never changed in place, so a cache upstream stays clean); completes with the
 * source. A byte image's flips and brightness delta are applied by `batch`, in the pass that
 * writes float32 anyway: the same values, no copy of the image.
 *
 * @example
 * samples$.pipe(augment({ flip: 'horizontal', brightness: 0.2, seed: 1 }))
 */
export function augment(options: AugmentOptions = {}): OperatorFunction<ImageSample, ImageSample> {
  const { flip = 'none', brightness = 0, clip = false, seed } = options;
  check(
    ['horizontal', 'vertical', 'both', 'none'].includes(flip),
    'augment',
    'flip',
    `must be 'horizontal', 'vertical', 'both' or 'none', got '${String(flip)}'`,
  );
  check(Number.isFinite(brightness) && brightness >= 0, 'augment', 'brightness', `must be a finite number >= 0, got ${brightness}`);
  check(seed === undefined || Number.isFinite(seed), 'augment', 'seed', `must be a finite number, got ${seed}`);
  const augmentOne = (sample: ImageSample, sinkSeed: number | undefined): ImageSample => {
    expectKind('augment', 'image sample', sample);
    const r = streamFor('augment', seed, sample, sinkSeed);
    const stream = nextStream(sample);
    // Fixed draw order (h, v, brightness) whatever is enabled keeps streams stable across options.
    const flipH = r.next() < 0.5 && (flip === 'horizontal' || flip === 'both');
    const flipV = r.next() < 0.5 && (flip === 'vertical' || flip === 'both');
    const delta = brightness > 0 ? r.uniform(-brightness, brightness) : 0;
    const { image, height, width, channels } = sample;
    if (image instanceof Uint8Array && !sample.clip) {
      // A byte image stays as it is: its flips and brightness delta are carried to `batch`,
      // which applies them in the pass that writes float32 anyway (no copy of the image here).
      return {
        ...sample,
        stream,
        flipH: (sample.flipH ?? false) !== flipH,
        flipV: (sample.flipV ?? false) !== flipV,
        delta: (sample.delta ?? 0) + delta,
        clip,
      };
    }
    const { delta: _delta, clip: _clip, flipH: _flipH, flipV: _flipV, ...rest } = sample;
    return {
      ...rest,
      stream,
      image: transformImage(valuesOf(sample), new Float32Array(image.length), height, width, channels, { flipH, flipV, delta, clip }),
    };
  };
  // The sink's seed is read as the chain subscribes (flow/credit.ts), for sources without one.
  return described('augment', { ...options }, (source: Observable<ImageSample>) =>
    defer(() => {
      const sinkSeed = creditOf()?.seed;
      return source.pipe(map((sample) => augmentOne(sample, sinkSeed)));
    }),
  );
}

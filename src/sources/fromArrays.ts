import type { Observable } from 'rxjs';
import { hashKeys, rng } from '../core/random.js';
import { describeSource } from '../flow/identity.js';
import { check, type ImageSample } from '../core/types.js';
import { pipelineSeed, pullSource } from './pullSource.js';

export interface ArraysData {
  /** N images, NHWC. Uint8 values stand for byte / 255; float32 values are taken as they are. */
  readonly images: Float32Array | Uint8Array;
  /** [N, H, W, C]. */
  readonly shape: readonly [number, number, number, number];
  /** N class indices. */
  readonly labels: ArrayLike<number>;
  /** Number of classes. Default: the largest label + 1. */
  readonly numClasses?: number;
}

export interface FromArraysOptions {
  /** Seed of the per-epoch order. Default 0. */
  readonly seed?: number;
  /** Shuffle each epoch. Default false. */
  readonly shuffle?: boolean;
}

/**
 * A cold source over images already in memory: emits one `ImageSample` (its own copy) per image,
 * one epoch per subscription.
 */
export function fromArrays(data: ArraysData, options: FromArraysOptions = {}): Observable<ImageSample> {
  const { seed = 0, shuffle = false } = options;
  const [n, height, width, channels] = data.shape;
  const per = height * width * channels;
  check(
    data.shape.every((d) => Number.isInteger(d) && d > 0),
    'fromArrays',
    'shape',
    `must be four positive integers, got [${data.shape.join(', ')}]`,
  );
  check(
    data.images.length === n * per,
    'fromArrays',
    'images',
    `has ${data.images.length} values, shape [${data.shape.join(', ')}] needs ${n * per}`,
  );
  check(data.labels.length === n, 'fromArrays', 'labels', `has ${data.labels.length} entries for ${n} images`);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const l = data.labels[i] as number;
    check(Number.isInteger(l) && l >= 0, 'fromArrays', 'labels', `must be non-negative integers, got ${l} at ${i}`);
    max = Math.max(max, l);
  }
  const numClasses = data.numClasses ?? max + 1;
  check(numClasses > max, 'fromArrays', 'numClasses', `is ${numClasses} but a label is ${max}`);
  const source = pullSource(function* (epoch) {
    const order = Array.from({ length: n }, (_, i) => i);
    if (shuffle) rng(seed, 'fromArrays', epoch).shuffle(order);
    for (const [index, i] of order.entries()) {
      const src = data.images.subarray(i * per, (i + 1) * per);
      // Bytes stay bytes (value = byte / 255); float32 is copied as it is. A copy, never a view
      // (a Buffer's slice() would share memory).
      const image = src instanceof Uint8Array ? new Uint8Array(src) : new Float32Array(src);
      yield { image, height, width, channels, label: data.labels[i] as number, numClasses, origin: `arrays[${i}]`, epoch, index };
    }
  }, pipelineSeed(options.seed));
  // The arrays may be changed in place between epochs: the fingerprint hashes their bytes.
  const fingerprint = async (): Promise<string> =>
    String(
      hashKeys([
        Array.from(data.labels).join(','),
        Buffer.from(data.images.buffer, data.images.byteOffset, data.images.byteLength).toString('latin1'),
      ]),
    );
  return describeSource(source, `fromArrays(${JSON.stringify({ shape: data.shape, numClasses, seed, shuffle })})`, { fingerprint });
}

import { concatWith, defer, filter, from, map, Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { exactBytes } from '../core/image.js';
import { rng, type Rng } from '../core/random.js';
import { check, type Position } from '../core/types.js';
import { creditOf, type Credit } from '../flow/credit.js';

/**
 * What a buffered item waits as: a float32 image whose values are all k / 255 (a resized image
 * from fromArrays or a cache) becomes the byte image with the same values, a quarter the size.
 */
function compact<T>(item: T): T {
  const image = (item as { image?: unknown }).image;
  if (!(image instanceof Float32Array)) return item;
  const bytes = exactBytes(image);
  return bytes ? { ...item, image: bytes } : item;
}

/**
 * Empties the window at the end of an epoch as the sink gives samples back: each item is emitted
 * only while fewer than `below` samples are alive past the window (each soon a float32 batch row).
 */
function drain<T>(buffer: T[], credit: Credit, below: number): Observable<T> {
  return new Observable<T>((subscriber) => {
    let stopped = false;
    void (async () => {
      while (!stopped && buffer.length > 0) {
        await credit.until(() => credit.inFlight - buffer.length < below);
        if (stopped) return;
        subscriber.next(buffer.shift() as T);
      }
      if (!stopped) subscriber.complete();
    })();
    return () => {
      stopped = true;
    };
  });
}

export interface ShuffleWindowOptions {
  /** Seed; epoch e's draws are keyed by (seed, e), e taken from the first item. Default 0. */
  readonly seed?: number;
}

/**
 * tf.data's shuffle(buffer_size): fills a buffer of `size` items; then each new item takes the
 * place of a uniformly chosen buffered one, which is emitted. On completion the buffer is drained
 * in random order, then the stream completes. Reshuffled every epoch; declares `size` held items
 * to the sink's credit. Images wait as bytes (decoders emit bytes; exact float32 ones are turned
 * into bytes), so a window of n 224x224 images holds n x 147 KiB, not n x 588 KiB.
 *
 * @example
 * samples$.pipe(shuffleWindow(200, { seed: 1 }))
 */
export function shuffleWindow<T extends Position>(size: number, options: ShuffleWindowOptions = {}): MonoTypeOperatorFunction<T> {
  const { seed = 0 } = options;
  check(Number.isInteger(size) && size >= 1, 'shuffleWindow', 'size', `must be an integer >= 1, got ${size}`);
  check(Number.isFinite(seed), 'shuffleWindow', 'seed', `must be a finite number, got ${seed}`);
  return (source) => {
    const stage = {};
    // What the stages below can hold, in samples, per sink (read at the first subscription under
    // it, before this stage adds its own): the drain never gets further ahead than that.
    const belowFor = new WeakMap<Credit, number>();
    return defer(() => {
      const credit = creditOf();
      if (credit && !belowFor.has(credit)) belowFor.set(credit, credit.limit);
      const below = credit ? (belowFor.get(credit) as number) : Infinity;
      credit?.hold(size, stage);
      const buffer: T[] = [];
      let random: Rng | undefined;
      return source.pipe(
        map((item): T | undefined => {
          random ??= rng(seed, 'shuffleWindow', item.epoch);
          if (buffer.length < size) {
            buffer.push(compact(item));
            return undefined;
          }
          const j = random.int(size);
          const out = buffer[j] as T;
          buffer[j] = compact(item);
          return out;
        }),
        filter((item): item is T => item !== undefined),
        concatWith(
          defer(() => {
            random?.shuffle(buffer);
            return credit ? drain(buffer, credit, below) : from(buffer.splice(0));
          }),
        ),
      );
    });
  };
}

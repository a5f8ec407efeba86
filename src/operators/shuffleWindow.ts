import { concatWith, defer, filter, from, map, type MonoTypeOperatorFunction } from 'rxjs';
import { rng, type Rng } from '../core/random.js';
import { check, type Position } from '../core/types.js';
import { creditOf } from '../flow/credit.js';

export interface ShuffleWindowOptions {
  /** Seed; epoch e's draws are keyed by (seed, e), e taken from the first item. Default 0. */
  readonly seed?: number;
}

/**
 * tf.data's shuffle(buffer_size): fills a buffer of `size` items; then each new item takes the
 * place of a uniformly chosen buffered one, which is emitted. On completion the buffer is drained
 * in random order, then the stream completes. Reshuffled every epoch; declares `size` held items
 * to the sink's credit.
 *
 * @example
 * samples$.pipe(shuffleWindow(200, { seed: 1 }))
 */
export function shuffleWindow<T extends Position>(size: number, options: ShuffleWindowOptions = {}): MonoTypeOperatorFunction<T> {
  const { seed = 0 } = options;
  check(Number.isInteger(size) && size >= 1, 'shuffleWindow', 'size', `must be an integer >= 1, got ${size}`);
  check(Number.isFinite(seed), 'shuffleWindow', 'seed', `must be a finite number, got ${seed}`);
  return (source) =>
    defer(() => {
      creditOf()?.hold(size);
      const buffer: T[] = [];
      let random: Rng | undefined;
      return source.pipe(
        map((item): T | undefined => {
          random ??= rng(seed, 'shuffleWindow', item.epoch);
          if (buffer.length < size) {
            buffer.push(item);
            return undefined;
          }
          const j = random.int(size);
          const out = buffer[j] as T;
          buffer[j] = item;
          return out;
        }),
        filter((item): item is T => item !== undefined),
        concatWith(
          defer(() => {
            random?.shuffle(buffer);
            return from(buffer.splice(0));
          }),
        ),
      );
    });
}

import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { exactBytes } from '../core/image.js';
import { rng, type Rng } from '../core/random.js';
import { nextStream } from '../core/seeds.js';
import { check, type Position } from '../core/types.js';
import { subscribeInner } from '../flow/inner.js';
import { creditOf, type Credit } from '../flow/credit.js';
import { described } from '../flow/describe.js';

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

export interface ShuffleWindowOptions {
  /**
   * Seed; epoch e's draws are keyed by (seed, e), e taken from the first item. Default: the
   * pipeline's seed (from the source) and the window's place in the chain (core/seeds.ts).
   */
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
  const { seed } = options;
  check(Number.isInteger(size) && size >= 1, 'shuffleWindow', 'size', `must be an integer >= 1, got ${size}`);
  check(seed === undefined || Number.isFinite(seed), 'shuffleWindow', 'seed', `must be a finite number, got ${seed}`);
  return described('shuffleWindow', { size, ...options }, (source: Observable<T>) => {
    const stage = {};
    // What the stages below can hold, in samples, per sink (read at the first subscription under
    // it, before this stage adds its own): the drain never gets further ahead than that.
    const belowFor = new WeakMap<Credit, number>();
    return new Observable<T>((subscriber) => {
      const credit = creditOf();
      if (credit && !belowFor.has(credit)) belowFor.set(credit, credit.limit);
      const below = credit ? (belowFor.get(credit) as number) : Infinity;
      credit?.hold(size, stage);
      let buffer: T[] = [];
      let random: Rng | undefined;
      let stopped = false;
      const unregister = credit?.register(stage, `shuffleWindow(${size})`, () => buffer.length);
      // Each item leaves stamped with the next place in the chain, and with its credit.
      const emit = (item: T): void => {
        const out = { ...item, stream: nextStream(item) };
        if (credit) credit.handoff(1, () => subscriber.next(out));
        else subscriber.next(out);
      };
      // At the end of an epoch the window empties only as fast as the stages below give samples
      // back: each item leaves while fewer than `below` samples are alive past the window.
      const drain = async (): Promise<void> => {
        random?.shuffle(buffer);
        while (!stopped && buffer.length > 0) {
          if (credit) await credit.until(() => credit.inFlight - buffer.length < below);
          if (stopped) return;
          emit(buffer.shift() as T);
        }
        if (!stopped) subscriber.complete();
      };
      const subscription = subscribeInner(source, subscriber, {
        next: (item) => {
          credit?.receive(1);
          random ??=
            seed !== undefined
              ? rng(seed, 'shuffleWindow', item.epoch)
              : rng(item.seed ?? credit?.seed ?? 0, 'shuffleWindow', 'place', item.stream ?? 0, item.epoch);
          if (buffer.length < size) {
            buffer.push(compact(item));
            return;
          }
          const j = random.int(size);
          const out = buffer[j] as T;
          buffer[j] = compact(item);
          emit(out);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          drain().catch((error: unknown) => subscriber.error(error));
        },
      });
      return () => {
        stopped = true;
        subscription.unsubscribe();
        unregister?.();
        // What the window still holds will never be emitted: its credit comes back.
        if (buffer.length > 0) credit?.release(buffer.length);
        buffer = [];
      };
    });
  });
}

import type { Observable, Subscription } from 'rxjs';
import { samplesIn } from '../core/types.js';
import { Credit, withCredit } from '../flow/credit.js';

/** Where one epoch's time went at the sink. */
export interface SinkStats {
  /** Values handed to the consumer. */
  values: number;
  /** Time the consumer spent waiting in next() for data: the model starving. */
  waitMs: number;
  /** Time between handing a value over and the next request: the consumer's own work (a training step). */
  consumerMs: number;
}

/** One epoch's pull: a subscription made under its own credit, with a queue the credit bounds. */
export interface EpochIterator<T> extends AsyncIterableIterator<T> {
  /** The pipeline's bound on samples alive at once, computed from its operators' options. */
  readonly credit: Credit;
  readonly stats: SinkStats;
  /**
   * Says the consumer is done with `value` (a batch this iterator handed out) for good: later
   * batches may be written into its memory, so it must not be read after, nor be held anywhere
   * else. Optional: what is not released is garbage-collected as usual, at the cost of fresh
   * memory for every batch (page faults and collections, about half a warm epoch's time).
   * toTfDataset releases each batch itself once its tensor holds a copy (on wasm).
   */
  release(value: T): void;
}

/** An async iterable whose every iterator is a fresh epoch. */
export interface EpochIterable<T> extends AsyncIterable<T> {
  [Symbol.asyncIterator](): EpochIterator<T>;
}

const closer = new FinalizationRegistry<{ credit: Credit; subscription: Subscription }>(({ credit, subscription }) => {
  credit.close(); // lets a source waiting for credit see it was stopped, and close its files
  subscription.unsubscribe();
});

function epochIterator<T>(source: Observable<T>): EpochIterator<T> {
  const credit = new Credit();
  const queue: T[] = [];
  let settled: { error?: unknown } | undefined;
  let wake: (() => void) | undefined;
  let held = 0;
  let handedAt: number | undefined;
  const stats: SinkStats = { values: 0, waitMs: 0, consumerMs: 0 };
  const handed = new WeakSet<object>();
  const released = new WeakSet<object>();
  const token = {};
  const subscription = withCredit(credit, () =>
    source.subscribe({
      next: (value) => {
        queue.push(value);
        wake?.();
      },
      error: (error: unknown) => {
        settled = { error };
        wake?.();
      },
      complete: () => {
        settled = {};
        wake?.();
      },
    }),
  );
  const finish = (): IteratorResult<T> => {
    credit.release(held);
    held = 0;
    credit.close();
    subscription.unsubscribe();
    closer.unregister(token);
    settled ??= {};
    wake?.(); // a next() still waiting ends as done
    return { done: true, value: undefined };
  };
  const pull = async (): Promise<IteratorResult<T>> => {
    // Asking for the next value means the consumer is done with the previous one.
    const asked = performance.now();
    if (handedAt !== undefined) stats.consumerMs += asked - handedAt;
    credit.release(held);
    held = 0;
    while (queue.length === 0 && !settled) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    if (queue.length > 0) {
      const value = queue.shift() as T;
      held = samplesIn(value);
      if (typeof value === 'object' && value !== null) handed.add(value);
      stats.values++;
      handedAt = performance.now();
      stats.waitMs += handedAt - asked;
      return { done: false, value };
    }
    finish();
    if (settled && 'error' in settled) throw settled.error;
    return { done: true, value: undefined };
  };
  // Calls that overlap (tf.data's own prefetch makes them) are served one after the other.
  let last: Promise<unknown> = Promise.resolve();
  const iterator: EpochIterator<T> = {
    credit,
    stats,
    next(): Promise<IteratorResult<T>> {
      const result = last.then(pull);
      last = result.catch(() => undefined);
      return result;
    },
    async return(): Promise<IteratorResult<T>> {
      return finish();
    },
    release(value: T): void {
      if (typeof value !== 'object' || value === null || !handed.has(value)) throw new Error('release: not a value this iterator handed out');
      if (released.has(value)) throw new Error('release: this batch was already released (its memory may hold a later batch now)');
      released.add(value);
      const images = (value as { images?: unknown }).images;
      if (images instanceof Float32Array) credit.reuse(images);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  // An iterator dropped without return() (fitDataset with batchesPerEpoch does that) stops
  // reading once the credit runs out, and is unsubscribed when collected. No closure here may
  // capture `iterator` itself (they share one context with the subscriber, which the registry
  // holds): `token` stands in for it.
  closer.register(iterator, { credit, subscription }, token);
  return iterator;
}

/**
 * Pulls a pipeline as an async iterable, for custom training loops (trainOnBatch). Each
 * `for await` is a fresh subscription, so a fresh epoch. The source runs ahead only as far as the
 * pipeline's credit allows; values are released when the loop asks for the next one. Breaking out
 * of the loop unsubscribes and stops all reading and decoding.
 *
 * @example
 * for await (const b of toAsyncIterable(train$)) await model.trainOnBatch(xs(b), ys(b));
 */
export function toAsyncIterable<T>(source: Observable<T>): EpochIterable<T> {
  return { [Symbol.asyncIterator]: () => epochIterator(source) };
}

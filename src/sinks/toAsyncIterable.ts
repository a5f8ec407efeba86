import type { Observable, Subscription } from 'rxjs';
import { samplesIn } from '../core/types.js';
import tf from '#tfjs';
import { Credit, sharedMemory, withCredit } from '../flow/credit.js';

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
   * On a backend whose tensors keep the batch's array (cpu), only batches whose tensors
   * batchTensors made may be released (their memory is reused once xs is disposed); others throw.
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

/** Options of a sink's pull. */
export interface SinkOptions {
  /**
   * How long the sink may wait for a value while the source waits for credit and nothing else
   * moves, before it errors naming the stages that hold the samples (a stall, never a silent hang
   * or exit). In milliseconds; default 1500.
   */
  readonly stallMs?: number;
  /**
   * The pipeline's seed when the source has none: random operators without their own seed draw
   * from it (core/seeds.ts). The source's `seed` wins over it.
   */
  readonly seed?: number;
}

/** Thrown (from next()) when the pipeline stalled: the sink starves while the source waits for credit. */
export class StallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StallError';
  }
}

function stallMessage(credit: Credit, waitedMs: number, queued: number): string {
  const unnamed = credit.inFlight - credit.heldByStages() - queued;
  return (
    `mixstream: the pipeline stalled: the sink has waited ${(waitedMs / 1000).toFixed(1)} s for a value while the source waits for credit ` +
    `(${credit.inFlight} samples alive, the limit is ${credit.limit}; held by the stages: ${credit.holdings()}; queued at the sink: ${queued}; ${unnamed} held by no stage of mixstream). ` +
    'An operator between the stages keeps samples the credit does not count (bufferCount, toArray, reduce, last, takeLast, a Subject ...). ' +
    'Fix: use batch(n) instead of bufferCount, keep whole-epoch operators after the sink, or add prefetch(n) after that operator to raise the bound by n.'
  );
}

function epochIterator<T>(source: Observable<T>, options: SinkOptions = {}): EpochIterator<T> {
  const stallMs = options.stallMs ?? 1500;
  const credit = new Credit();
  credit.seed = options.seed;
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
        credit.receive(samplesIn(value)); // the sink holds it until the consumer asks for the next one
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
  // The watchdog: while the consumer waits, a (ref'd) timer keeps the process alive and checks that
  // something moves; a source blocked on credit with nothing in progress is a stall, and errors.
  const watch = (since: number): (() => void) => {
    let events = credit.events;
    let quiet = 0;
    const ticks = 3;
    const timer = setInterval(
      () => {
        const still = credit.blocked && credit.busy === 0 && credit.events === events;
        events = credit.events;
        quiet = still ? quiet + 1 : 0;
        if (quiet < ticks || settled) return;
        settled = { error: new StallError(stallMessage(credit, performance.now() - since, queue.length)) };
        subscription.unsubscribe();
        credit.close();
        wake?.();
      },
      Math.max(1, Math.round(stallMs / ticks)),
    );
    return () => clearInterval(timer);
  };
  const pull = async (): Promise<IteratorResult<T>> => {
    // Asking for the next value means the consumer is done with the previous one.
    const asked = performance.now();
    if (handedAt !== undefined) stats.consumerMs += asked - handedAt;
    credit.release(held);
    held = 0;
    while (queue.length === 0 && !settled) {
      const stop = watch(asked);
      await new Promise<void>((resolve) => (wake = resolve));
      stop();
    }
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
      if (typeof value !== 'object' || value === null || !handed.has(value))
        throw new Error('release: not a value this iterator handed out');
      if (released.has(value)) throw new Error('release: this batch was already released (its memory may hold a later batch now)');
      const images = (value as { images?: unknown }).images;
      if (images instanceof Float32Array) {
        // A tensor made over the batch on a backend that keeps the array (cpu) would change
        // under the consumer: reuse only memory batchTensors tracks (reused once xs is disposed),
        // any when no tensor lives at all (none can hold it: a consumer that makes none, with no
        // backend even started), or any on a backend that copies as the tensor is made (wasm).
        if (!sharedMemory.has(images) && !noTensorLives() && !backendCopies()) {
          throw new Error(
            `release: on the '${tf.engine().backendName}' backend a tensor made from a batch keeps the batch's own memory, so a later batch written into it would change that tensor. ` +
              'Make the tensors with batchTensors(batch) (release then waits until xs is disposed), or do not release on this backend.',
          );
        }
        credit.reuse(images);
      }
      released.add(value);
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
export function toAsyncIterable<T>(source: Observable<T>, options: SinkOptions = {}): EpochIterable<T> {
  return { [Symbol.asyncIterator]: () => epochIterator(source, options) };
}

/** Whether no tensor lives on any backend; read off the engine without starting a backend. */
function noTensorLives(): boolean {
  return tf.engine().state.numTensors === 0;
}

/** Whether the current backend copies a tensor's values as it is made (wasm), so the batch's memory is free at once. */
export function backendCopies(): boolean {
  return tf.getBackend() === 'wasm';
}

import { Observable, type OperatorFunction } from 'rxjs';
import { check, samplesIn } from '../core/types.js';
import { subscribeInner } from '../flow/inner.js';
import { creditOf } from '../flow/credit.js';
import { described } from '../flow/describe.js';

export interface ParallelMapOptions {
  /** Calls of `project` running at once, >= 1. Default 4. */
  readonly concurrency?: number;
  /**
   * true (default): results leave in input order, like tf.data's `deterministic=True`; a slow item
   * holds back the ones after it. false: each result leaves as soon as it is ready.
   */
  readonly deterministic?: boolean;
}

/**
 * Maps each value through an async `project`, up to `concurrency` at a time. Emits the results in
 * input order (or as they finish with `deterministic: false`); completes when the source has
 * completed and every call has settled; a rejected call errors the stream and stops the rest.
 *
 * Values waiting for a free slot are queued; they are the source's cheap items (paths), and the
 * sink's credit bounds how many exist. The operator declares `concurrency` held items to the credit,
 * takes each value's credit as it arrives and hands it on with the result (a result dropped after
 * it gives it back), and gives back what it holds when unsubscribed.
 *
 * @example
 * files$.pipe(parallelMap((f) => readFile(f.path), { concurrency: 8 }))
 */
export function parallelMap<T, R>(project: (value: T) => Promise<R>, options: ParallelMapOptions = {}): OperatorFunction<T, R> {
  const { concurrency = 4, deterministic = true } = options;
  check(Number.isInteger(concurrency) && concurrency >= 1, 'parallelMap', 'concurrency', `must be an integer >= 1, got ${concurrency}`);
  return described('parallelMap', { concurrency, deterministic }, (source: Observable<T>) => {
    const stage = {};
    return new Observable<R>((subscriber) => {
      const credit = creditOf();
      credit?.hold(concurrency, stage);
      const waiting: Array<{ value: T; weight: number }> = [];
      // In deterministic mode `results` keeps started calls in input order; a slot is free when
      // fewer than `concurrency` calls have been started and not yet emitted.
      type Slot = { done: boolean; value?: R; weight: number };
      const results: Slot[] = [];
      let running = 0;
      let held = 0; // samples received and not yet handed on
      let sourceDone = false;
      let stopped = false;
      const unregister = credit?.register(stage, `parallelMap(concurrency ${concurrency})`, () => held);

      const emit = (value: R, weight: number): void => {
        held -= weight;
        if (credit) credit.handoff(weight, () => subscriber.next(value));
        else subscriber.next(value);
      };
      const finishIfIdle = (): void => {
        if (sourceDone && running === 0 && waiting.length === 0 && results.length === 0) subscriber.complete();
      };
      const flush = (): void => {
        while (results.length > 0 && results[0]?.done) {
          const slot = results.shift() as Slot;
          emit(slot.value as R, slot.weight);
        }
      };
      const pump = (): void => {
        while (!stopped && waiting.length > 0 && (deterministic ? results.length : running) < concurrency) {
          const { value, weight } = waiting.shift() as { value: T; weight: number };
          const slot: Slot = { done: false, weight };
          if (deterministic) results.push(slot);
          running++;
          let call: Promise<R>;
          try {
            call = project(value);
          } catch (error) {
            stopped = true;
            subscriber.error(error);
            return;
          }
          if (credit) credit.busy++;
          call.then(
            (result) => {
              if (credit) credit.busy--;
              if (stopped) return;
              running--;
              if (deterministic) {
                slot.done = true;
                slot.value = result;
                flush();
              } else emit(result, weight);
              pump();
              finishIfIdle();
            },
            (error: unknown) => {
              if (credit) credit.busy--;
              if (stopped) return;
              stopped = true;
              subscriber.error(error);
            },
          );
        }
      };

      const subscription = subscribeInner(source, subscriber, {
        next: (value) => {
          const weight = samplesIn(value);
          credit?.receive(weight);
          held += weight;
          waiting.push({ value, weight });
          pump();
        },
        error: (error: unknown) => {
          stopped = true;
          subscriber.error(error);
        },
        complete: () => {
          sourceDone = true;
          finishIfIdle();
        },
      });
      return () => {
        stopped = true;
        subscription.unsubscribe();
        unregister?.();
        // What was queued or being computed will never be emitted: its credit comes back.
        if (held > 0) credit?.release(held);
        held = 0;
      };
    });
  });
}

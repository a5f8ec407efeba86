import { Observable, type OperatorFunction } from 'rxjs';
import { check } from '../core/types.js';
import { creditOf } from '../flow/credit.js';

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
 * sink's credit bounds how many exist. The operator declares `concurrency` held items to the credit.
 *
 * @example
 * files$.pipe(parallelMap((f) => readFile(f.path), { concurrency: 8 }))
 */
export function parallelMap<T, R>(project: (value: T) => Promise<R>, options: ParallelMapOptions = {}): OperatorFunction<T, R> {
  const { concurrency = 4, deterministic = true } = options;
  check(Number.isInteger(concurrency) && concurrency >= 1, 'parallelMap', 'concurrency', `must be an integer >= 1, got ${concurrency}`);
  return (source) => {
    const stage = {};
    return new Observable<R>((subscriber) => {
      creditOf()?.hold(concurrency, stage);
      const waiting: T[] = [];
      // In deterministic mode `results` keeps started calls in input order; a slot is free when
      // fewer than `concurrency` calls have been started and not yet emitted.
      const results: Array<{ done: boolean; value?: R }> = [];
      let running = 0;
      let sourceDone = false;
      let stopped = false;

      const finishIfIdle = (): void => {
        if (sourceDone && running === 0 && waiting.length === 0 && results.length === 0) subscriber.complete();
      };
      const flush = (): void => {
        while (results.length > 0 && results[0]?.done) subscriber.next(results.shift()?.value as R);
      };
      const pump = (): void => {
        while (!stopped && waiting.length > 0 && (deterministic ? results.length : running) < concurrency) {
          const value = waiting.shift() as T;
          const slot: { done: boolean; value?: R } = { done: false };
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
          call.then(
            (result) => {
              if (stopped) return;
              running--;
              if (deterministic) {
                slot.done = true;
                slot.value = result;
                flush();
              } else subscriber.next(result);
              pump();
              finishIfIdle();
            },
            (error: unknown) => {
              if (stopped) return;
              stopped = true;
              subscriber.error(error);
            },
          );
        }
      };

      const subscription = source.subscribe({
        next: (value) => {
          waiting.push(value);
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
      };
    });
  };
}

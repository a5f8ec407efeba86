import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { check } from '../core/types.js';
import { creditOf } from '../flow/credit.js';
import { passOwnership } from './batch.js';
import { described } from '../flow/describe.js';

/**
 * Bounded lookahead: lets the pipeline run `count` items (usually batches) ahead of the consumer,
 * so decoding overlaps training. Values pass through unchanged; what it changes is the sink's
 * credit (see flow/credit.ts): the ready items wait in the sink's queue, never more than `count`.
 * Without a sink there is no consumer to run ahead of, and it is a plain pass-through.
 *
 * @example
 * batches$.pipe(prefetch(2))
 */
export function prefetch<T>(count: number): MonoTypeOperatorFunction<T> {
  check(Number.isInteger(count) && count >= 0, 'prefetch', 'count', `must be an integer >= 0, got ${count}`);
  return described('prefetch', { count }, (source: Observable<T>) => {
    const stage = {};
    const ahead = new Observable<T>((subscriber) => {
      creditOf()?.hold(count, stage);
      return source.subscribe(subscriber);
    });
    return passOwnership(source, ahead);
  });
}

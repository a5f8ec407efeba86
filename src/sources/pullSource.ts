import { Observable } from 'rxjs';
import { creditOf } from '../flow/credit.js';

/**
 * Builds a cold source from a function that lists one epoch's items (cheap things: paths, offsets).
 *
 * Each subscription is a new epoch, numbered from 0 and passed to `open`. Items are emitted one at a
 * time, each only once the sink's credit allows it (see flow/credit.ts), so nothing is read ahead
 * of demand. Unsubscribing (take, an error downstream, an abandoned iterator) stops the loop and
 * closes the iterator; nothing is read after that.
 *
 * `firstEpoch` (default 0) numbers the first subscription: a run resumed from a checkpoint after
 * epoch e starts its source at e, so every draw keyed by (seed, epoch, index) is the one an
 * uninterrupted run would have made.
 */
export function pullSource<T>(open: (epoch: number) => AsyncIterable<T> | Iterable<T>, options: { readonly firstEpoch?: number } = {}): Observable<T> {
  const firstEpoch = options.firstEpoch ?? 0;
  if (!Number.isSafeInteger(firstEpoch) || firstEpoch < 0) throw new RangeError(`pullSource: firstEpoch must be an integer >= 0, got ${firstEpoch}`);
  let epochs = firstEpoch;
  return new Observable<T>((subscriber) => {
    const credit = creditOf();
    const epoch = epochs++;
    let stopped = false;
    void (async () => {
      try {
        for await (const item of open(epoch)) {
          if (stopped) return;
          await credit?.acquire();
          if (stopped) {
            credit?.release(1); // taken for an item that will never be emitted
            return;
          }
          subscriber.next(item);
        }
        subscriber.complete();
      } catch (error) {
        if (!stopped) subscriber.error(error);
      }
    })();
    return () => {
      stopped = true;
    };
  });
}

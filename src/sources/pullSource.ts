import { Observable } from 'rxjs';
import { creditOf } from '../flow/credit.js';

export interface PullSourceOptions {
  /**
   * The pipeline's seed: stamped on every item (as `seed`) that is an object with an `index`, so
   * every random operator after the source draws from (seed, its place in the chain, epoch,
   * index) unless given its own seed. Default: items are left as they are.
   */
  readonly seed?: number;
  /** The number of the first subscription's epoch (default 0): see below. */
  readonly firstEpoch?: number;
  /**
   * Whether the source takes a number among the sources under its sink (default true): the second
   * and later sources merged under one sink stamp it on their items (as `source`), so their random
   * draws differ from the first's. A replay of items already stamped (cache) passes false.
   */
  readonly numbered?: boolean;
}

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
export function pullSource<T>(open: (epoch: number) => AsyncIterable<T> | Iterable<T>, options: PullSourceOptions = {}): Observable<T> {
  const { seed, numbered = true } = options;
  const key = {};
  const stamp = (item: T, source: number): T => {
    if (typeof item !== 'object' || item === null || !('index' in item)) return item;
    const withSeed = seed !== undefined && !('seed' in item);
    const withSource = source > 0 && !('source' in item);
    if (!withSeed && !withSource) return item;
    return { ...item, ...(withSeed ? { seed } : {}), ...(withSource ? { source } : {}) };
  };
  const firstEpoch = options.firstEpoch ?? 0;
  if (!Number.isSafeInteger(firstEpoch) || firstEpoch < 0)
    throw new RangeError(`pullSource: firstEpoch must be an integer >= 0, got ${firstEpoch}`);
  let epochs = firstEpoch;
  return new Observable<T>((subscriber) => {
    const credit = creditOf();
    const source = numbered ? (credit?.sourceNumber(key) ?? 0) : 0;
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
          // The item carries its credit: a stage downstream takes it, or it comes back when the
          // item was dropped on the way (flow/credit.ts).
          if (credit) credit.handoff(1, () => subscriber.next(stamp(item, source)));
          else subscriber.next(stamp(item, source));
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

/** pullSource's options for a source's own `seed` option: stamped only when the user gave one. */
export function pipelineSeed(seed: number | undefined): PullSourceOptions {
  return seed === undefined ? {} : { seed };
}

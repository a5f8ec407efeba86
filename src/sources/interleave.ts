import { Observable, type Subscription } from 'rxjs';
import { Credit, creditOf, withCredit } from '../flow/credit.js';
import { describeSource, identityOf, keyOf } from '../flow/identity.js';

/** Items each input may have read ahead of its turn (its own credit, so waiting inputs hold none of the sink's). */
const READ_AHEAD = 4;

/**
 * Merges sources in a fixed order: one item from each input in turn (round robin, as tf.data's
 * `Dataset.choose_from_datasets` with a cycling choice), an input that completed is left out of
 * the turn, and it completes when all inputs have. Unlike RxJS's `merge`/`mergeWith`, whose
 * order is the order in which the inputs happen to emit (file system and decode timing), the
 * order is the same on every run; `concat` is the other ordered merge (one input after the other).
 *
 * Under a sink, each input reads at most a few items ahead of its turn, on a credit of its own,
 * and what interleave emits counts against the sink's bound as a source's items do (flow/credit.ts).
 * Items keep their own `index`; the second and later inputs carry their number under the sink
 * (`source`; without a sink, their place among the inputs), so their random draws differ from the
 * first's even with the same seed (core/seeds.ts).
 * Each subscription subscribes every input once (a new epoch of each). An input's error is the
 * stream's error; unsubscribing unsubscribes all inputs.
 *
 * @example
 * const train$ = interleave(imageFolder('a/', { seed: 1 }), imageFolder('b/', { seed: 1 })).pipe(normalizeResize({ size: 64 }), ...);
 */
export function interleave<T>(...inputs: Array<Observable<T>>): Observable<T> {
  if (inputs.length === 0) throw new RangeError('interleave: give it at least one source');
  const n = inputs.length;
  const out = new Observable<T>((subscriber) => {
    const credit = creditOf();
    // Without a sink the inputs still get numbers (and a read-ahead bound) from a scope of their own.
    const scope = credit ?? new Credit();
    const children: Array<Credit | undefined> = inputs.map(() => scope.child());
    const queues: T[][] = inputs.map(() => []);
    const done: boolean[] = inputs.map(() => false);
    const subscriptions: Subscription[] = [];
    let turn = 0;
    let running = false;
    let stopped = false;

    /** Emits whatever the turn order allows now; waits (returns) for the input whose turn it is. */
    const pump = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        for (;;) {
          if (stopped) return;
          let skipped = 0;
          while (done[turn] && (queues[turn] as T[]).length === 0 && skipped < n) {
            turn = (turn + 1) % n;
            skipped++;
          }
          if (skipped === n) {
            subscriber.complete();
            return;
          }
          if ((queues[turn] as T[]).length === 0) return;
          await credit?.acquire();
          if (stopped) {
            credit?.release(1);
            return;
          }
          const item = (queues[turn] as T[]).shift() as T;
          children[turn]?.release(1);
          turn = (turn + 1) % n;
          if (credit) credit.handoff(1, () => subscriber.next(item));
          else subscriber.next(item);
        }
      } catch (error) {
        subscriber.error(error);
      } finally {
        running = false;
      }
    };
    const again = (): void => {
      // Items that arrived while the pump waited for credit: look again once it is done.
      void pump().then(() => {
        if (!stopped && !running && queues[turn]?.length) again();
      });
    };

    inputs.forEach((input, k) => {
      const child = children[k];
      if (child) child.hold(READ_AHEAD - 1, child);
      const subscribe = (): Subscription =>
        input.subscribe({
          next: (item) => {
            child?.receive(1);
            (queues[k] as T[]).push(item);
            if (k === turn) again();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            done[k] = true;
            again();
          },
        });
      subscriptions.push(child ? withCredit(child, subscribe) : subscribe());
    });
    return () => {
      stopped = true;
      for (const s of subscriptions) s.unsubscribe();
      for (const c of children) c?.close();
    };
  });
  const identities = inputs.map((i) => identityOf(i));
  if (identities.every((i) => i !== undefined)) {
    const known = identities as Array<NonNullable<(typeof identities)[number]>>;
    return describeSource(out, `interleave(${known.map((i) => i.description).join(', ')})`, {
      fingerprint: async () => keyOf(...(await Promise.all(known.map((i) => i.fingerprint())))),
    });
  }
  return out;
}

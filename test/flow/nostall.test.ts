import fc from 'fast-check';
import {
  ArgumentOutOfRangeError,
  distinct,
  EmptyError,
  elementAt,
  filter,
  first,
  map,
  NEVER,
  Observable,
  skip,
  skipWhile,
  take,
  takeWhile,
  tap,
  throttle,
  type OperatorFunction,
} from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { Batch, ImageSample } from '../../src/core/types.js';
import { creditOf } from '../../src/flow/credit.js';
import { batch, cutmix, normalizeResize, parallelMap, prefetch, shuffleWindow } from '../../src/operators/index.js';
import { StallError, toAsyncIterable } from '../../src/sinks/index.js';
import { countingSource, flush } from '../helpers.js';

/**
 * Plain RxJS operators anywhere in a chain: what the credit gives out for a sample comes back
 * however the sample leaves (flow/credit.ts), so no chain stalls and the bound holds.
 */

/** A decoder that counts the images it makes: `alive()` is made - consumed - dropped on the way (counted by `dropped`). */
function counted() {
  let made = 0;
  const decode = parallelMap(
    async (s: ImageSample): Promise<ImageSample> => {
      await Promise.resolve();
      made++;
      return { ...s, image: Float32Array.from(s.image) };
    },
    { concurrency: 3 },
  );
  return { decode, made: () => made };
}

/** Runs one epoch with a consumer that lets the producer run 5 turns per value; checks the credit's bound after each. */
async function drain<T>(
  batches$: Observable<T>,
  check: (inFlight: number, limit: number) => void = () => undefined,
): Promise<{ values: T[]; peak: number; limit: number }> {
  const it = toAsyncIterable(batches$, { stallMs: 300 })[Symbol.asyncIterator]();
  const values: T[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) {
    values.push(r.value);
    await flush(5);
    check(it.credit.inFlight, it.credit.limit);
    expect(it.credit.inFlight).toBeLessThanOrEqual(it.credit.limit);
  }
  return { values, peak: it.credit.peakInFlight, limit: it.credit.limit };
}

const sizes = (bs: readonly Batch[]): number[] => bs.map((b) => b.shape[0]);

describe('RxJS operators as users write them', () => {
  it("the issue's chain: filter on samples before batch yields every kept sample, images alive within the bound", async () => {
    const { source } = countingSource(200, 2, 5);
    const { decode, made } = counted();
    let dropped = 0;
    let consumed = 0;
    const batches$ = source.pipe(
      decode,
      filter((s) => s.label < 2 || (dropped++, false)),
      batch(16),
    );
    const { values } = await drain(batches$.pipe(tap((b) => (consumed += b.shape[0]))), (_inFlight, limit) => {
      // The images that exist are those made and neither consumed nor dropped: never over the bound.
      expect(made() - consumed - dropped).toBeLessThanOrEqual(limit);
    });
    expect(values.reduce((n, b) => n + b.shape[0], 0)).toBe(80); // labels 0 and 1 of 5
    expect(dropped).toBe(120);
  });

  it('take(40) after normalizeResize and before shuffleWindow: 40 samples, then the epoch ends', async () => {
    for (const n of [1, 7, 16, 40]) {
      const { source, pulls } = countingSource(1000);
      const { values } = await drain(source.pipe(normalizeResize({ size: 2, workers: 0 }), take(n), shuffleWindow(8), batch(4)));
      expect(values.reduce((k, b) => k + b.shape[0], 0)).toBe(n);
      expect(pulls()).toBeLessThan(n + 40); // the source stopped with take
    }
  });

  it('filter, skip and elementAt on batches: the kept batches arrive, the dropped ones give their samples back', async () => {
    const everyOther = await drain(
      countingSource(100).source.pipe(
        batch(4),
        filter((b) => b.index % 2 === 0),
        prefetch(1),
      ),
    );
    expect(sizes(everyOther.values)).toEqual(Array.from({ length: 13 }, () => 4));
    const skipped = await drain(countingSource(100).source.pipe(batch(4), skip(20)));
    expect(sizes(skipped.values)).toEqual([4, 4, 4, 4, 4]);
    const one = await drain(countingSource(100).source.pipe(batch(4), elementAt(22)));
    expect(one.values.map((b) => b.index)).toEqual([22]);
  });

  it('the watchdog: a stage that keeps credit and never hands it on errors the pipeline, naming the holders, instead of a silent hang', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    try {
      // A foreign stage that takes samples into its keeping (through the credit) and never emits.
      const hoarder: OperatorFunction<ImageSample, ImageSample> = (source) =>
        new Observable<ImageSample>((subscriber) => {
          const credit = creditOf();
          return source.subscribe({ next: () => credit?.receive(1), complete: () => subscriber.complete() });
        });
      const { source, pulls } = countingSource(1000);
      const it = toAsyncIterable(source.pipe(shuffleWindow(5), hoarder, batch(4)), { stallMs: 1500 })[Symbol.asyncIterator]();
      const next = it.next();
      let outcome: unknown;
      next.then(
        () => (outcome = 'value'),
        (error: unknown) => (outcome = error),
      );
      await flush(20);
      const pulled = pulls();
      expect(pulled).toBeLessThan(30); // the source waits for credit
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1000);
      expect(outcome).toBeUndefined(); // not yet: 1.5 s of nothing moving
      await vi.advanceTimersByTimeAsync(1000);
      expect(outcome).toBeInstanceOf(StallError);
      const message = String((outcome as Error).message);
      expect(message).toMatch(/stalled/);
      expect(message).toMatch(/shuffleWindow\(5\): 5\b/);
      expect(message).toMatch(/batch\(4\): 0\b/);
      expect(message).toMatch(/7 held by no stage of mixstream/);
      expect(String((outcome as Error).message)).toMatch(/Fix:/);
      expect(pulls()).toBe(pulled);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a slow consumer never trips the watchdog: only a starving sink with a blocked source does', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    try {
      const { source } = countingSource(40);
      const it = toAsyncIterable(source.pipe(batch(4)), { stallMs: 100 })[Symbol.asyncIterator]();
      let n = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        n++;
        await vi.advanceTimersByTimeAsync(1000); // the consumer's long step: the source waits for credit, the sink does not
      }
      expect(n).toBe(10);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** Operators a user may put on samples or on batches; each keyed by a small number. */
const userOperators = <T extends { readonly index: number }>(): Array<(k: number) => OperatorFunction<T, T>> => [
  (k) => filter((x) => x.index % (k + 2) !== 0),
  (k) => take(k + 1),
  (k) => skip(k),
  () => first(),
  (k) => takeWhile((x) => x.index < k * 3 + 1),
  (k) => skipWhile((x) => x.index < k * 2),
  (k) => distinct((x) => x.index % (k + 3)),
  (k) => elementAt(k),
  () => throttle(() => NEVER),
  () => map((x) => x),
];

describe('property: random chains of RxJS operators around mixstream stages', () => {
  it('every chain completes or errors (never stalls), within the credit bound', async () => {
    const opArb = fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 6 }));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 0, max: 60 }),
          beforeDecode: fc.array(opArb, { maxLength: 2 }),
          beforeWindow: fc.array(opArb, { maxLength: 2 }),
          beforeBatch: fc.array(opArb, { maxLength: 2 }),
          onBatches: fc.array(opArb, { maxLength: 2 }),
          afterPrefetch: fc.array(opArb, { maxLength: 1 }),
          window: fc.integer({ min: 1, max: 6 }),
          B: fc.integer({ min: 1, max: 5 }),
        }),
        async (c) => {
          const sampleOps = userOperators<ImageSample>();
          const batchOps = userOperators<Batch>();
          const apply =
            <T>(ops: Array<(k: number) => OperatorFunction<T, T>>, picks: Array<[number, number]>): OperatorFunction<T, T> =>
            (s) =>
              picks.reduce((acc, [i, k]) => acc.pipe((ops[i] as (k: number) => OperatorFunction<T, T>)(k)), s);
          const { source } = countingSource(c.n);
          const { decode } = counted();
          const chain$ = source.pipe(
            apply(sampleOps, c.beforeDecode),
            decode,
            apply(sampleOps, c.beforeWindow),
            shuffleWindow(c.window),
            apply(sampleOps, c.beforeBatch),
            batch(c.B),
            apply(batchOps, c.onBatches),
            cutmix({ alpha: 1 }),
            prefetch(1),
            apply(batchOps, c.afterPrefetch),
          );
          // A stall would end as a StallError after 300 ms and fail the property. RxJS's own errors
          // (first or elementAt on too short a stream) are the operator's contract: they pass.
          try {
            const { peak, limit } = await drain(chain$);
            expect(peak).toBeLessThanOrEqual(limit);
          } catch (error) {
            if (!(error instanceof EmptyError || error instanceof ArgumentOutOfRangeError)) throw error;
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

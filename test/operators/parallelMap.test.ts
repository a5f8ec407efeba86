import fc from 'fast-check';
import { config, EMPTY, from, of, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Credit, withCredit } from '../../src/flow/credit.js';
import { parallelMap, type ParallelMapOptions } from '../../src/operators/parallelMap.js';

// RxJS reports errors thrown inside a plain observer on a timer; collect them here rather than
// letting them crash the run (see the synchronous-throw test below). Never restored: the pool
// runs each test file in its own process.
const unhandled: unknown[] = [];
config.onUnhandledError = (error) => unhandled.push(error);

/** Lets every pending promise callback run: no timers, only microtasks. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

interface Call {
  readonly value: number;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/** A project whose calls wait until the test settles them by hand; the result is value * 10. */
function harness(): { calls: Call[]; project: (v: number) => Promise<number>; running: () => number; maxRunning: () => number } {
  const calls: Call[] = [];
  let running = 0;
  let max = 0;
  const project = (value: number): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      running++;
      max = Math.max(max, running);
      const call: Call = {
        value,
        settled: false,
        resolve: () => {
          call.settled = true;
          running--;
          resolve(value * 10);
        },
        reject: (error) => {
          call.settled = true;
          running--;
          reject(error);
        },
      };
      calls.push(call);
    });
  return { calls, project, running: () => running, maxRunning: () => max };
}

/** Records what a subscription saw. */
class Recorder {
  readonly values: number[] = [];
  readonly errors: unknown[] = [];
  completed = false;
  readonly observer = {
    next: (v: number): void => {
      this.values.push(v);
    },
    error: (e: unknown): void => {
      this.errors.push(e);
    },
    complete: (): void => {
      this.completed = true;
    },
  };
}
const observe = (): Recorder => new Recorder();

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('parallelMap', () => {
  it('never runs more than `concurrency` calls; order is input order (deterministic) or finish order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        async (n, concurrency, deterministic, choices) => {
          const h = harness();
          const o = observe();
          const options: ParallelMapOptions = { concurrency, deterministic };
          from(range(n)).pipe(parallelMap(h.project, options)).subscribe(o.observer);
          const finished: number[] = [];
          let k = 0;
          await flush();
          for (;;) {
            expect(h.running()).toBeLessThanOrEqual(concurrency);
            // something is running whenever work is left
            if (finished.length < n) expect(h.running()).toBeGreaterThan(0);
            const pending = h.calls.filter((c) => !c.settled);
            if (pending.length === 0) break;
            const call = pending[(choices[k++ % choices.length] as number) % pending.length] as Call;
            call.resolve();
            finished.push(call.value);
            await flush();
          }
          expect(h.maxRunning()).toBeLessThanOrEqual(concurrency);
          expect(h.calls.map((c) => c.value)).toEqual(range(n)); // calls start in input order, once each
          expect(o.values).toEqual((deterministic ? range(n) : finished).map((v) => v * 10));
          expect(o.errors).toEqual([]);
          expect(o.completed).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('uses all its slots when calls finish in order', async () => {
    const h = harness();
    from(range(10))
      .pipe(parallelMap(h.project, { concurrency: 3 }))
      .subscribe();
    expect(h.calls.length).toBe(3);
    h.calls[0]?.resolve();
    await flush();
    expect(h.calls.length).toBe(4);
  });

  it('deterministic mode holds back results until the earlier ones are ready', async () => {
    const h = harness();
    const o = observe();
    from([0, 1, 2])
      .pipe(parallelMap(h.project, { concurrency: 3 }))
      .subscribe(o.observer);
    h.calls[2]?.resolve();
    h.calls[1]?.resolve();
    await flush();
    expect(o.values).toEqual([]);
    h.calls[0]?.resolve();
    await flush();
    expect(o.values).toEqual([0, 10, 20]);
    expect(o.completed).toBe(true);
  });

  it('deterministic: false emits in finish order', async () => {
    const h = harness();
    const o = observe();
    from([0, 1, 2])
      .pipe(parallelMap(h.project, { concurrency: 3, deterministic: false }))
      .subscribe(o.observer);
    h.calls[2]?.resolve();
    await flush();
    expect(o.values).toEqual([20]);
    h.calls[1]?.resolve();
    h.calls[0]?.resolve();
    await flush();
    expect(o.values).toEqual([20, 10, 0]);
    expect(o.completed).toBe(true);
  });

  it('completes only when the source has completed and every call has settled', async () => {
    const h = harness();
    const o = observe();
    of(1).pipe(parallelMap(h.project)).subscribe(o.observer);
    await flush();
    expect(o.completed).toBe(false);
    h.calls[0]?.resolve();
    await flush();
    expect(o.values).toEqual([10]);
    expect(o.completed).toBe(true);
  });

  it('a rejected call errors the stream; no further calls start and later results are dropped', async () => {
    for (const deterministic of [true, false]) {
      const h = harness();
      const o = observe();
      from(range(6))
        .pipe(parallelMap(h.project, { concurrency: 2, deterministic }))
        .subscribe(o.observer);
      expect(h.calls.length).toBe(2);
      const boom = new Error('cannot decode 1');
      h.calls[1]?.reject(boom);
      await flush();
      expect(o.errors).toEqual([boom]);
      h.calls[0]?.resolve();
      await flush();
      expect(h.calls.length).toBe(2);
      expect(o.values).toEqual([]);
      expect(o.completed).toBe(false);
    }
  });

  it('a project that throws synchronously errors the stream too', async () => {
    const o = observe();
    const boom = new Error('sync failure');
    const project = (v: number): Promise<number> => {
      if (v === 1) throw boom;
      return Promise.resolve(v);
    };
    from([0, 1, 2]).pipe(parallelMap(project)).subscribe(o.observer);
    await flush();
    expect(o.errors).toEqual([boom]);
    expect(unhandled).not.toContain(boom);
  });

  it('unsubscribing stops starting new calls and emits nothing more', async () => {
    const h = harness();
    const o = observe();
    const sub = from(range(6))
      .pipe(parallelMap(h.project, { concurrency: 2 }))
      .subscribe(o.observer);
    h.calls[0]?.resolve();
    await flush();
    expect(o.values).toEqual([0]);
    expect(h.calls.length).toBe(3);
    sub.unsubscribe();
    h.calls[1]?.resolve();
    h.calls[2]?.resolve();
    await flush();
    expect(h.calls.length).toBe(3);
    expect(o.values).toEqual([0]);
    expect(o.completed).toBe(false);
  });

  it('unsubscribing unsubscribes the source', () => {
    const h = harness();
    const source = new Subject<number>();
    const sub = source.pipe(parallelMap(h.project)).subscribe();
    expect(source.observed).toBe(true);
    sub.unsubscribe();
    expect(source.observed).toBe(false);
  });

  it('a source error propagates at once; an empty source completes at once', async () => {
    const h = harness();
    const o = observe();
    const source = new Subject<number>();
    source.pipe(parallelMap(h.project)).subscribe(o.observer);
    source.next(1);
    const err = new Error('listing failed');
    source.error(err);
    expect(o.errors).toEqual([err]);
    h.calls[0]?.resolve();
    await flush();
    expect(o.values).toEqual([]);

    const e = observe();
    EMPTY.pipe(parallelMap(h.project)).subscribe(e.observer);
    expect(e.completed).toBe(true);
    expect(e.values).toEqual([]);
  });

  it('declares concurrency held items to the credit', () => {
    const credit = new Credit();
    withCredit(credit, () => new Subject<number>().pipe(parallelMap(harness().project, { concurrency: 6 })).subscribe());
    expect(credit.limit).toBe(7);
  });

  it('validates concurrency at creation: a RangeError naming it', () => {
    const { project } = harness();
    for (const concurrency of [0, -1, 2.5, Number.NaN]) {
      expect(() => parallelMap(project, { concurrency })).toThrow(RangeError);
      expect(() => parallelMap(project, { concurrency })).toThrow(/concurrency/);
    }
  });
});

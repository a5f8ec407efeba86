import { describe, expect, it } from 'vitest';
import { map, take } from 'rxjs';
import { batch, cutmix, parallelMap, prefetch, shuffleWindow } from '../../src/operators/index.js';
import { toAsyncIterable } from '../../src/sinks/index.js';
import type { ImageSample } from '../../src/core/types.js';
import { countingSource, flush } from '../helpers.js';

/**
 * The pipeline of DESIGN.md with a fake decoder that counts the images it creates, a consumer
 * stepped by hand, and the bound of flow/credit.ts: (1 + prefetch) * B + (B - 1) + window + concurrency.
 */
function pipeline(n: number, opts: { B: number; window: number; concurrency: number; prefetch: number }) {
  const { source, pulls } = countingSource(n);
  let decoded = 0;
  const decode = async (s: ImageSample): Promise<ImageSample> => {
    await Promise.resolve();
    decoded++;
    return { ...s, image: Float32Array.from(s.image) };
  };
  const batches$ = source.pipe(
    parallelMap(decode, { concurrency: opts.concurrency }),
    shuffleWindow(opts.window, { seed: 3 }),
    batch(opts.B),
    cutmix({ alpha: 1 }),
    prefetch(opts.prefetch),
  );
  const bound = (1 + opts.prefetch) * opts.B + (opts.B - 1) + opts.window + opts.concurrency;
  return { batches$, pulls, decoded: () => decoded, bound };
}

describe('backpressure', () => {
  it('keeps decoded images alive under the bound the options give, with a consumer 10x slower', async () => {
    const p = pipeline(600, { B: 4, window: 7, concurrency: 3, prefetch: 2 });
    const it = toAsyncIterable(p.batches$)[Symbol.asyncIterator]();
    expect(it.credit.limit).toBe(p.bound);
    let consumed = 0;
    let maxAlive = 0;
    let batches = 0;
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      batches++;
      // The slow consumer: ten event-loop turns per batch, during which the producer may run.
      await flush(10);
      const alive = p.decoded() - consumed;
      maxAlive = Math.max(maxAlive, alive);
      expect(alive).toBeLessThanOrEqual(p.bound);
      expect(it.credit.inFlight).toBeLessThanOrEqual(p.bound);
      consumed += r.value.shape[0];
    }
    expect(batches).toBe(150);
    expect(consumed).toBe(600);
    // The bound is reached (the producer did run ahead), so the check above could have failed.
    expect(maxAlive).toBe(p.bound);
    expect(it.credit.peakInFlight).toBe(p.bound);
  });

  it('stops the producer while the consumer stalls, and resumes on demand', async () => {
    const p = pipeline(10_000, { B: 8, window: 20, concurrency: 4, prefetch: 1 });
    const it = toAsyncIterable(p.batches$)[Symbol.asyncIterator]();
    await it.next();
    await flush(50);
    const stalledAt = p.pulls();
    const decodedAt = p.decoded();
    await flush(200);
    expect(p.pulls()).toBe(stalledAt);
    expect(p.decoded()).toBe(decodedAt);
    expect(decodedAt).toBeLessThanOrEqual(p.bound);
    await it.next();
    await flush(50);
    expect(p.decoded()).toBeGreaterThan(decodedAt);
    await it.return?.();
  });

  it('stops all reading after take(n), an abandoned iterator, or an error', async () => {
    const taken = pipeline(10_000, { B: 4, window: 5, concurrency: 2, prefetch: 2 });
    const it = toAsyncIterable(taken.batches$.pipe(take(2)))[Symbol.asyncIterator]();
    let n = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) n++;
    expect(n).toBe(2);
    const after = taken.pulls();
    await flush(50);
    expect(taken.pulls()).toBe(after);
    expect(after).toBeLessThan(100);

    const abandoned = pipeline(10_000, { B: 4, window: 5, concurrency: 2, prefetch: 2 });
    await toAsyncIterable(abandoned.batches$)[Symbol.asyncIterator]().next();
    await flush(50);
    const reads = abandoned.pulls();
    await flush(100);
    expect(abandoned.pulls()).toBe(reads);
    // pullSource takes the next item from its list before it waits for credit: one extra at most.
    expect(reads).toBeLessThanOrEqual(abandoned.bound + 1);

    const { source, pulls } = countingSource(10_000);
    const failing = source.pipe(
      map((s) => {
        if (s.index === 30) throw new Error('boom at 30');
        return s;
      }),
      batch(4),
    );
    const run = async (): Promise<void> => {
      for await (const _ of toAsyncIterable(failing)) void _;
    };
    await expect(run()).rejects.toThrow('boom at 30');
    const atError = pulls();
    await flush(50);
    expect(pulls()).toBe(atError);
  });

  it('gives skipped and dropped samples back, so the pipeline never stalls', async () => {
    const { source } = countingSource(101);
    let failures = 0;
    const { normalizeResize } = await import('../../src/operators/normalizeResize.js');
    const withBroken = source.pipe(
      map((s) =>
        s.index % 3 === 0
          ? { input: new Uint8Array([1, 2, 3]), origin: s.origin, label: s.label, numClasses: s.numClasses, epoch: s.epoch, index: s.index }
          : s,
      ),
      normalizeResize({ size: 2, onError: 'skip', onSkip: () => failures++ }),
      batch(5, { dropRemainder: true }),
      prefetch(0),
    );
    let samples = 0;
    for await (const b of toAsyncIterable(withBroken)) samples += b.shape[0];
    expect(failures).toBe(34);
    expect(samples).toBe(65); // 67 good samples, the last 2 dropped with the remainder
  });
});

describe('backpressure at the end of an epoch', () => {
  it('drains a shuffle window only as fast as the stages below it give samples back', async () => {
    const { source } = countingSource(120, 4);
    let past = 0; // samples that left the window (unpacked to float32 again)
    const batches$ = source.pipe(
      shuffleWindow(100, { seed: 2 }),
      map((s) => (past++, s)),
      batch(4),
      prefetch(1),
    );
    const below = (1 + 1) * 4 + 3;
    const it = toAsyncIterable(batches$)[Symbol.asyncIterator]();
    let consumed = 0;
    let worst = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      await flush(5);
      worst = Math.max(worst, past - consumed);
      expect(past - consumed).toBeLessThanOrEqual(below);
      consumed += r.value.shape[0];
    }
    expect(consumed).toBe(120);
    expect(worst).toBe(below); // reached, so the check could fail
  });
});

describe('filterSamples', () => {
  it('gives back the credit of what it drops, samples or whole batches, so the pipeline never stalls', async () => {
    const { filterSamples } = await import('../../src/operators/filterSamples.js');
    const { source } = countingSource(100);
    const batches$ = source.pipe(
      filterSamples((s) => s.index % 3 !== 0),
      shuffleWindow(4),
      batch(4),
      filterSamples((b) => b.index % 2 === 0), // a plain RxJS filter, now (test/flow/nostall.test.ts)
      prefetch(1),
    );
    let kept = 0;
    for await (const b of toAsyncIterable(batches$)) kept += b.shape[0];
    expect(kept).toBe(34); // 66 samples -> 17 batches (the last, index 16, of 2); the 9 even ones: 8 x 4 + 2
  });

  it('stops a synchronous firehose into take(3)', async () => {
    const { filterSamples } = await import('../../src/operators/filterSamples.js');
    const { from } = await import('rxjs');
    let pulled = 0;
    const firehose = function* () {
      for (;;) yield pulled++;
    };
    const got: number[] = [];
    from(firehose())
      .pipe(
        filterSamples((n: number) => n % 2 === 0),
        take(3),
      )
      .subscribe((n) => got.push(n));
    expect(got).toEqual([0, 2, 4]);
    expect(pulled).toBe(5);
  });
});

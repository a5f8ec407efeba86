import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { NEVER, repeat, tap } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/core/types.js';
import { ownsItsBatches } from '../../src/operators/batch.js';
import { augment, batch, cutmix, labelSmoothing, mixup, oneHot, parallelMap, prefetch, shuffleWindow } from '../../src/operators/index.js';
import { batchTensors, toAsyncIterable, toTfDataset } from '../../src/sinks/index.js';
import { countingSource, flush } from '../helpers.js';

/** A byte-image pipeline whose batches go through in-place CutMix and prefetch. */
const mixed = () =>
  countingSource(40, 3).source.pipe(
    parallelMap(async (s) => ({ ...s, image: Uint8Array.from(s.image, (v, i) => (v * 255 + i) & 255) })),
    augment({ flip: 'horizontal', brightness: 0.1, seed: 1 }),
    batch(4),
    cutmix({ alpha: 1, seed: 2 }),
    prefetch(2),
  );

describe('releasing batches', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  it('writes later batches into released ones’ memory, the same values as without release', async () => {
    const plain: number[][] = [];
    for await (const b of toAsyncIterable(mixed())) plain.push(Array.from(b.images));
    const it = toAsyncIterable(mixed())[Symbol.asyncIterator]();
    const seen: number[][] = [];
    const arrays = new Set<Float32Array>();
    for (let r = await it.next(); !r.done; r = await it.next()) {
      seen.push(Array.from(r.value.images));
      arrays.add(r.value.images);
      // On cpu the tensors keep the batch's memory: made by batchTensors, released once disposed.
      tf.dispose(Object.values(batchTensors(r.value)));
      it.release(r.value);
    }
    expect(seen).toEqual(plain);
    expect(seen).toHaveLength(10);
    expect(arrays.size).toBeLessThan(6); // the rest were written into released memory
  });

  it('refuses what the iterator did not hand out, and a second release of one batch', async () => {
    const it = toAsyncIterable(mixed())[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) throw new Error('no batch');
    expect(() => it.release({ ...first.value } as Batch)).toThrow(/not a value this iterator handed out/);
    tf.dispose(Object.values(batchTensors(first.value)));
    it.release(first.value);
    expect(() => it.release(first.value)).toThrow(/already released/);
    await it.return?.();
  });

  it('toTfDataset on wasm releases each batch once its tensor holds a copy: the tensors hold the right values', async () => {
    const expected: number[][] = [];
    for await (const b of toAsyncIterable(mixed())) expected.push(Array.from(b.images));
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      const before = tf.memory().numTensors;
      const got: number[][] = [];
      await toTfDataset(mixed()).forEachAsync((x) => {
        const { xs, ys } = x as { xs: tf.Tensor; ys: tf.Tensor };
        got.push(Array.from(xs.dataSync()));
        tf.dispose([xs, ys]);
      });
      expect(got).toEqual(expected);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

describe('release on a backend whose tensors keep the batch memory (cpu)', () => {
  it('never changes a tensor still in flight: memory is reused only once its xs is disposed', async () => {
    await tf.setBackend('cpu');
    const it = toAsyncIterable(mixed())[Symbol.asyncIterator]();
    const inFlight: Array<{ xs: tf.Tensor; ys: tf.Tensor; values: number[] }> = [];
    const arrays = new Set<Float32Array>();
    let n = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const t = batchTensors(r.value);
      inFlight.push({ ...t, values: Array.from(r.value.images) });
      arrays.add(r.value.images);
      it.release(r.value); // as the README places it: right after the tensor is made
      // The first six batches stay in flight (a training loop's queue); then each is disposed as it is done.
      if (++n > 6) {
        const done = inFlight.shift();
        expect(Array.from(done?.xs.dataSync() ?? [])).toEqual(done?.values);
        tf.dispose([done?.xs as tf.Tensor, done?.ys as tf.Tensor]);
      }
    }
    // Every tensor still holds its own batch's values.
    for (const t of inFlight) expect(Array.from(t.xs.dataSync())).toEqual(t.values);
    expect(arrays.size).toBeLessThan(10); // memory was reused, after disposal
    for (const t of inFlight) tf.dispose([t.xs, t.ys]);
  });

  it('refuses, with the fix, a release of a batch whose tensors it cannot see', async () => {
    await tf.setBackend('cpu');
    const it = toAsyncIterable(mixed())[Symbol.asyncIterator]();
    const r = await it.next();
    if (r.done) throw new Error('no batch');
    const xs = tf.tensor4d(r.value.images, [...r.value.shape]);
    expect(() => it.release(r.value)).toThrow(
      /release: on the 'cpu' backend a tensor made from a batch keeps the batch's own memory.*batchTensors/,
    );
    xs.dispose();
    await it.return?.();
  });
});

describe('which batches nothing else holds', () => {
  it('those of batch, then of the mixing steps, prefetch, oneHot and labelSmoothing after it; not after a stage of yours', () => {
    const samples = countingSource(8).source;
    expect(ownsItsBatches.has(samples.pipe(batch(4), oneHot(), cutmix(), mixup(), labelSmoothing(0.1), prefetch(2)))).toBe(true);
    expect(
      ownsItsBatches.has(
        samples.pipe(
          batch(4),
          tap(() => undefined),
          oneHot(),
          prefetch(2),
        ),
      ),
    ).toBe(false);
    expect(
      ownsItsBatches.has(
        samples.pipe(
          batch(4),
          tap(() => undefined),
          cutmix(),
        ),
      ),
    ).toBe(true); // cutmix copies there
  });

  it('toTfDataset on wasm leaves batches a stage of yours saw alone', async () => {
    const kept: Batch[] = [];
    const values: number[][] = [];
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      const seen$ = mixed().pipe(tap((b) => (kept.push(b), values.push(Array.from(b.images)))));
      await toTfDataset(seen$).forEachAsync((x) => tf.dispose(Object.values(x as Record<string, tf.Tensor>)));
    } finally {
      await tf.setBackend('cpu');
    }
    expect(kept.map((b) => Array.from(b.images))).toEqual(values);
    expect(new Set(kept.map((b) => b.images)).size).toBe(kept.length);
  });
});

describe('the sink iterator', () => {
  it('serves overlapping next() calls in order (tf.data prefetch makes them)', async () => {
    const it = toAsyncIterable(countingSource(6).source.pipe(batch(2)))[Symbol.asyncIterator]();
    const [a, b, c, d] = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    expect([a, b, c].map((r) => (r.done ? -1 : r.value.index))).toEqual([0, 1, 2]);
    expect(d?.done).toBe(true);
    await tf.setBackend('cpu');
    const seen: number[] = [];
    await toTfDataset(countingSource(7).source.pipe(batch(2)))
      .prefetch(3)
      .forEachAsync((x) => {
        const { xs, ys } = x as { xs: tf.Tensor; ys: tf.Tensor };
        seen.push(xs.shape[0] as number);
        tf.dispose([xs, ys]);
      });
    expect(seen).toEqual([2, 2, 2, 1]);
  });

  it('keeps overlapping next() calls in order through toTfDataset when the event loop takes its turn', async () => {
    await tf.setBackend('cpu');
    const n = 12;
    const it = await toTfDataset(countingSource(n).source.pipe(batch(2))).iterator();
    // Each image is filled with index / n: the first value of xs names the batch's first sample.
    const first = async (r: Promise<IteratorResult<tf.TensorContainer>>): Promise<number> => {
      const { value } = await r;
      const { xs, ys } = value as { xs: tf.Tensor; ys: tf.Tensor };
      const index = Math.round((xs.dataSync()[0] as number) * n);
      tf.dispose([xs, ys]);
      return index;
    };
    expect(await first(it.next())).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the loop's turn is due at the next call
    // As tf.data's prefetch does: two calls at once, and a third as soon as the first resolves.
    const a = it.next();
    const b = it.next();
    const c = a.then(() => it.next());
    expect(await Promise.all([first(a), first(b), first(c)])).toEqual([2, 4, 6]);
  });

  it('ends a next() still waiting when return() is called', async () => {
    const it = toAsyncIterable(NEVER)[Symbol.asyncIterator]();
    const pending = it.next();
    await it.return?.();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('keeps the bound when stages are subscribed again under one sink (repeat)', async () => {
    const { source } = countingSource(20);
    const batches$ = source.pipe(
      parallelMap(async (s) => s, { concurrency: 2 }),
      shuffleWindow(3),
      batch(4),
      repeat(4),
      prefetch(1),
    );
    const it = toAsyncIterable(batches$)[Symbol.asyncIterator]();
    const bound = (1 + 1) * 4 + 3 + 3 + 2;
    let batches = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      batches++;
      await flush(5);
      expect(it.credit.limit).toBe(bound);
      expect(it.credit.inFlight).toBeLessThanOrEqual(bound);
    }
    expect(batches).toBe(20);
    expect(it.credit.peakInFlight).toBeLessThanOrEqual(bound);
  });
});

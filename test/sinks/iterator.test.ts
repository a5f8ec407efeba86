import * as tf from '@tensorflow/tfjs';
import { NEVER, repeat } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { batch, parallelMap, prefetch, shuffleWindow } from '../../src/operators/index.js';
import { toAsyncIterable, toTfDataset } from '../../src/sinks/index.js';
import { countingSource, flush } from '../helpers.js';

describe('the sink iterator', () => {
  it('serves overlapping next() calls in order (tf.data prefetch makes them)', async () => {
    const it = toAsyncIterable(countingSource(6).source.pipe(batch(2)))[Symbol.asyncIterator]();
    const [a, b, c, d] = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    expect([a, b, c].map((r) => (r.done ? -1 : r.value.index))).toEqual([0, 1, 2]);
    expect(d?.done).toBe(true);
    await tf.setBackend('cpu');
    const seen: number[] = [];
    await toTfDataset(countingSource(7).source.pipe(batch(2))).prefetch(3).forEachAsync((x) => {
      const { xs, ys } = x as { xs: tf.Tensor; ys: tf.Tensor };
      seen.push(xs.shape[0] as number);
      tf.dispose([xs, ys]);
    });
    expect(seen).toEqual([2, 2, 2, 1]);
  });

  it('ends a next() still waiting when return() is called', async () => {
    const it = toAsyncIterable(NEVER)[Symbol.asyncIterator]();
    const pending = it.next();
    await it.return?.();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });

  it('keeps the bound when stages are subscribed again under one sink (repeat)', async () => {
    const { source } = countingSource(20);
    const batches$ = source.pipe(parallelMap(async (s) => s, { concurrency: 2 }), shuffleWindow(3), batch(4), repeat(4), prefetch(1));
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

import { describe, expect, it } from 'vitest';
import { Profiler } from '../../src/flow/profile.js';
import { batch, normalizeResize, shuffleWindow } from '../../src/operators/index.js';
import { toAsyncIterable } from '../../src/sinks/index.js';
import { countingSource, flush } from '../helpers.js';

describe('Profiler and sink statistics', () => {
  it('counts each stage, what it holds at most, and where the sink waited', async () => {
    const p = new Profiler();
    const { source } = countingSource(50, 4);
    const batches$ = source.pipe(
      p.stage('decode', normalizeResize({ size: 2, concurrency: 3 })),
      p.stage('shuffle', shuffleWindow(6)),
      p.stage('batch', batch(8)),
    );
    const it = toAsyncIterable(batches$)[Symbol.asyncIterator]();
    let n = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      n++;
      await flush(3); // the consumer's "training step"
    }
    expect(n).toBe(7);
    const [decode, shuffle, batcher] = p.report();
    expect([decode?.received, decode?.emitted]).toEqual([50, 50]);
    expect([shuffle?.received, shuffle?.emitted, shuffle?.peakInside]).toEqual([50, 50, 7]);
    expect([batcher?.received, batcher?.emitted]).toEqual([50, 7]);
    expect(batcher?.peakInside).toBeLessThanOrEqual(8);
    expect(batcher?.inside).toBe(0);
    expect(decode!.busyMs + decode!.idleMs).toBeGreaterThan(0);
    expect(it.stats.values).toBe(7);
    expect(it.stats.consumerMs).toBeGreaterThan(0);
    expect(p.table().split('\n')).toHaveLength(4);
  });
});

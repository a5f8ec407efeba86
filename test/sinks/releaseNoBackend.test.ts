/**
 * release() in a process that made no tensor, as `npm run bench -- chain` is: no tfjs backend is
 * started, nothing can hold a batch's memory, so a released batch is written again at once. It
 * used to refuse ("on the 'undefined' backend a tensor made from a batch keeps the batch's own memory").
 * Its own file: vitest runs each file in a fresh process, where no test has started a backend.
 */
import tf from '#tfjs';
import { describe, expect, it } from 'vitest';
import { augment, batch, cutmix, prefetch } from '../../src/operators/index.js';
import { toAsyncIterable } from '../../src/sinks/index.js';
import { countingSource } from '../helpers.js';

const chain = () =>
  countingSource(40, 3).source.pipe(augment({ flip: 'horizontal', seed: 1 }), batch(4), cutmix({ alpha: 1, seed: 2 }), prefetch(2));

describe('release with no tfjs backend started', () => {
  it('reuses released batches, with the values of a run that releases none, and starts no backend', async () => {
    expect(tf.engine().backendName).toBeUndefined();
    const plain: number[][] = [];
    for await (const b of toAsyncIterable(chain())) plain.push(Array.from(b.images));
    const it = toAsyncIterable(chain())[Symbol.asyncIterator]();
    const seen: number[][] = [];
    const arrays = new Set<Float32Array>();
    for (let r = await it.next(); !r.done; r = await it.next()) {
      seen.push(Array.from(r.value.images));
      arrays.add(r.value.images);
      it.release(r.value);
    }
    expect(seen).toEqual(plain);
    expect(seen).toHaveLength(10);
    expect(arrays.size).toBeLessThan(6);
    expect(tf.engine().backendName).toBeUndefined();
  });
});

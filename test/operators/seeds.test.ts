import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch, ImageSample } from '../../src/core/types.js';
import { valuesOf } from '../../src/core/image.js';
import { augment, batch, cutmix, mixup, shuffleWindow } from '../../src/operators/index.js';
import { fromArrays } from '../../src/sources/fromArrays.js';
import { fingerprint } from '../helpers.js';
import { defined } from '../../src/core/idioms.js';

/**
 * Seeds flow from the pipeline, as tf.data's global seed and op seeds: the source's seed and an
 * operator's place among the random operators key its draws; an explicit seed still wins.
 */

const N = 200;
/** N 1x2 single-row images whose two pixels differ, so a horizontal flip is visible. */
const data = {
  images: Float32Array.from({ length: N * 2 * 3 }, (_, i) => (Math.floor(i / 3) % 2 === 0 ? 0.25 : 0.75)),
  shape: [N, 1, 2, 3] as const,
  labels: Array.from({ length: N }, (_, i) => i % 4),
};

const all = <T>(x$: Observable<T>): Promise<T[]> => lastValueFrom(x$.pipe(toArray()));
const isFlipped = (s: ImageSample): boolean => (valuesOf(s)[0] as number) > 0.5;

describe('seeds flow from the pipeline', () => {
  it('two unseeded augments draw independently: about half the images end up flipped (the same stream would leave none)', async () => {
    const out = await all(fromArrays(data, { seed: 7 }).pipe(augment({ flip: 'horizontal' }), augment({ flip: 'horizontal' })));
    const flipped = out.filter(isFlipped).length;
    // Binomial(200, 1/2): 5 standard deviations (7.1) either side of 100.
    expect(flipped).toBeGreaterThan(100 - 36);
    expect(flipped).toBeLessThan(100 + 36);
  });

  it('the same holds with no seed anywhere (pipeline seed 0): places in the chain differ', async () => {
    const out = await all(fromArrays(data).pipe(augment({ flip: 'horizontal' }), augment({ flip: 'horizontal' })));
    const flipped = out.filter(isFlipped).length;
    expect(flipped).toBeGreaterThan(64);
    expect(flipped).toBeLessThan(136);
  });

  it("changing the source's seed changes every random operator's draws", async () => {
    const chain = (seed: number): Observable<Batch> =>
      fromArrays(data, { seed }).pipe(augment({ brightness: 0.3 }), shuffleWindow(16), batch(8), cutmix({ alpha: 1 }), mixup({ alpha: 1 }));
    const [one, two] = await Promise.all([
      all(fromArrays(data, { seed: 1 }).pipe(augment({ brightness: 0.3 }))),
      all(fromArrays(data, { seed: 2 }).pipe(augment({ brightness: 0.3 }))),
    ]);
    // augment: every sample's brightness delta differs
    const deltas = (xs: ImageSample[]): number[] => xs.map((s) => (valuesOf(s)[0] as number) - 0.25);
    const d1 = deltas(one);
    const d2 = deltas(two);
    expect(d1.every((d, i) => d !== d2[i])).toBe(true);
    // shuffleWindow: the order differs; cutmix and mixup: the batches' targets differ
    const [b1, b2] = await Promise.all([all(chain(1)), all(chain(2))]);
    expect(b1.map((b) => Array.from(b.labels).join())).not.toEqual(b2.map((b) => Array.from(b.labels).join()));
    const targets = (bs: Batch[]): string[] => bs.map((b) => Array.from(b.targets ?? []).join());
    expect(targets(b1).filter((t, i) => t === targets(b2)[i])).toEqual([]);
  });

  it('the same seeds give bit-identical batches; an explicit seed still wins over the pipeline seed', async () => {
    const chain = (sourceSeed: number, opSeed?: number): Observable<Batch> =>
      fromArrays(data, { seed: sourceSeed, shuffle: true }).pipe(
        augment({ flip: 'horizontal', brightness: 0.2, ...defined({ seed: opSeed }) }),
        batch(16),
        cutmix(opSeed === undefined ? {} : { seed: opSeed }),
      );
    expect(fingerprint(await all(chain(3)))).toEqual(fingerprint(await all(chain(3))));
    expect(fingerprint(await all(chain(3)))).not.toEqual(fingerprint(await all(chain(4))));
    // With explicit seeds, only the source's own order depends on its seed: no shuffle, no change.
    const fixed = (sourceSeed: number): Observable<ImageSample> =>
      fromArrays(data, { seed: sourceSeed }).pipe(augment({ flip: 'horizontal', brightness: 0.2, seed: 9 }));
    const [f1, f2] = await Promise.all([all(fixed(1)), all(fixed(2))]);
    expect(f1.map((s) => Array.from(valuesOf(s)).join())).toEqual(f2.map((s) => Array.from(valuesOf(s)).join()));
  });

  it("a source without a seed takes the sink's: it keys every unseeded draw; the source's own seed wins over it", async () => {
    const { toAsyncIterable } = await import('../../src/sinks/index.js');
    const pull = async (source: Observable<ImageSample>, sinkSeed: number): Promise<Batch[]> => {
      const out: Batch[] = [];
      for await (const b of toAsyncIterable(
        source.pipe(augment({ flip: 'horizontal', brightness: 0.2 }), shuffleWindow(16), batch(8), cutmix()),
        { seed: sinkSeed },
      ))
        out.push(b);
      return out;
    };
    const unseeded = (): Observable<ImageSample> => fromArrays(data);
    expect(fingerprint(await pull(unseeded(), 1))).toEqual(fingerprint(await pull(unseeded(), 1)));
    expect(fingerprint(await pull(unseeded(), 1))).not.toEqual(fingerprint(await pull(unseeded(), 2)));
    const seeded = (): Observable<ImageSample> => fromArrays(data, { seed: 5 });
    expect(fingerprint(await pull(seeded(), 1))).toEqual(fingerprint(await pull(seeded(), 2)));
  });
});

import fc from 'fast-check';
import { lastValueFrom, Observable, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ImageSample } from '../../src/core/types.js';
import { Credit, withCredit } from '../../src/flow/credit.js';
import { shard } from '../../src/operators/shard.js';
import { fromArrays } from '../../src/sources/fromArrays.js';

const all = <T>(o: Observable<T>): Promise<T[]> => lastValueFrom(o.pipe(toArray()));

/** n tiny 1x1x1 images whose pixel says which one they are. */
const source = (n: number, seed: number) =>
  fromArrays(
    { images: Float32Array.from({ length: n }, (_, i) => i), shape: [n, 1, 1, 1], labels: Array.from({ length: n }, (_, i) => i % 3) },
    { seed, shuffle: true },
  );
const id = (s: ImageSample): number => s.image[0] as number;

describe('shard', () => {
  it('shares are disjoint, cover the epoch, and interleave back into the unsharded global order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        async (n, count, seed) => {
          const whole = await all(source(n, seed));
          const shares = await Promise.all(
            Array.from({ length: count }, (_, k) => all(source(n, seed).pipe(shard<ImageSample>(count, k)))),
          );
          // Each share holds exactly the positions k, k + count, ... in order.
          shares.forEach((share, k) => {
            expect(share.map((s) => s.index)).toEqual(whole.filter((s) => s.index % count === k).map((s) => s.index));
            expect(share.map(id)).toEqual(whole.filter((s) => s.index % count === k).map(id));
          });
          // Disjoint and covering.
          const ids = shares
            .flat()
            .map(id)
            .sort((a, b) => a - b);
          expect(ids).toEqual(Array.from({ length: n }, (_, i) => i));
          // Merged by position: the same global order whatever the count.
          const merged = shares
            .flat()
            .sort((a, b) => a.index - b.index)
            .map(id);
          expect(merged).toEqual(whole.map(id));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('later epochs shard the same way: each process, on its own source, sees the same epoch order', async () => {
    const atEpoch1 = async () => {
      const src = source(30, 9);
      await all(src); // epoch 0
      return src;
    };
    const whole = await all(await atEpoch1());
    const count = 3;
    const shares = await Promise.all(
      Array.from({ length: count }, async (_, k) => all((await atEpoch1()).pipe(shard<ImageSample>(count, k)))),
    );
    expect(shares.flat().every((s) => s.epoch === 1)).toBe(true);
    expect(
      shares
        .flat()
        .sort((x, y) => x.index - y.index)
        .map(id),
    ).toEqual(whole.map(id));
    expect(whole.map(id)).not.toEqual((await all(source(30, 9))).map(id)); // epoch 1 differs from epoch 0
  });

  it('releases the credit of every dropped item: a sharded pipeline under credit never stalls', async () => {
    for (const [count, k] of [
      [2, 0],
      [3, 2],
      [5, 4],
    ] as const) {
      const credit = new Credit();
      credit.hold(1, {}); // limit 2
      const got: ImageSample[] = [];
      await new Promise<void>((resolve, reject) =>
        withCredit(credit, () =>
          source(23, 1)
            .pipe(shard<ImageSample>(count, k))
            .subscribe({
              next: (s) => {
                got.push(s);
                setTimeout(() => credit.release(1), 0); // the consumer uses it, then lets go
              },
              error: reject,
              complete: resolve,
            }),
        ),
      );
      expect(got.map((s) => s.index)).toEqual(Array.from({ length: 23 }, (_, i) => i).filter((i) => i % count === k));
      expect(credit.peakInFlight).toBeLessThanOrEqual(2);
    }
  });

  it('passes errors and completion through; checks options at creation', async () => {
    const subject = new Subject<{ index: number }>();
    const seen: number[] = [];
    let error: unknown;
    subject.pipe(shard(2, 1)).subscribe({ next: (v) => seen.push(v.index), error: (e: unknown) => (error = e) });
    for (let i = 0; i < 5; i++) subject.next({ index: i });
    subject.error(new Error('boom'));
    expect(seen).toEqual([1, 3]);
    expect((error as Error).message).toBe('boom');
    expect(() => shard(0, 0)).toThrow(/shard: option 'count'/);
    expect(() => shard(2.5, 0)).toThrow(/option 'count'/);
    expect(() => shard(3, 3)).toThrow(/shard: option 'index'/);
    expect(() => shard(3, -1)).toThrow(/option 'index'/);
  });
});

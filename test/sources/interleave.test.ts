/**
 * Merged sources keep the seed promises (issue 23, item 2): two sources merged with the same seed
 * draw independently (the second carries its number under the sink), and `interleave` gives the
 * same order on every run, where mergeWith's order follows the timing of the reads.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { concat, map, mergeWith, take, tap, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valuesOf } from '../../src/core/image.js';
import type { Batch, EncodedSample, ImageSample } from '../../src/core/types.js';
import { augment, batch, normalizeResize } from '../../src/operators/index.js';
import { toAsyncIterable } from '../../src/sinks/index.js';
import { fromArrays } from '../../src/sources/fromArrays.js';
import { imageFolder } from '../../src/sources/imageFolder.js';
import { interleave } from '../../src/sources/interleave.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { fingerprint } from '../helpers.js';

let dir = '';
let a = '';
let b = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-interleave-'));
  a = path.join(dir, 'a');
  b = path.join(dir, 'b');
  // The same 80 images in two folders: any difference after augment comes from the draws.
  for (const root of [a, b]) await writeSyntheticFolder(root, { classes: 4, perClass: 20, seed: 5, minSide: 12, maxSide: 16 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Drawn {
  readonly folder: string;
  readonly file: string;
  readonly index: number;
  readonly delta: number;
  readonly flipH: boolean;
}

/** Runs `samples$` through decode, augment and batch under a sink; what augment drew for each sample. */
async function draws(samples$: Observable<EncodedSample>): Promise<{ drawn: Drawn[]; batches: Batch[] }> {
  const drawn: Drawn[] = [];
  const batches: Batch[] = [];
  const chain = samples$.pipe(
    normalizeResize({ size: 8, workers: 1 }),
    augment({ flip: 'horizontal', brightness: 0.2 }),
    tap((s: ImageSample) =>
      drawn.push({
        folder: path.basename(path.dirname(path.dirname(s.origin))),
        file: path.relative(path.dirname(path.dirname(s.origin)), s.origin),
        index: s.index,
        delta: s.delta ?? 0,
        flipH: s.flipH ?? false,
      }),
    ),
    batch(4),
  );
  for await (const x of toAsyncIterable(chain)) batches.push(x);
  return { drawn, batches };
}

/** Pairs the two folders' draws for the same image (same index: both in file order). */
function pairs(drawn: Drawn[]): Array<[Drawn, Drawn]> {
  const inA = new Map(drawn.filter((d) => d.folder === 'a').map((d) => [d.file, d]));
  return drawn.filter((d) => d.folder === 'b').map((d) => [inA.get(d.file) as Drawn, d]);
}

describe('merged sources draw independently', () => {
  const merges: Array<[string, (x: Observable<EncodedSample>, y: Observable<EncodedSample>) => Observable<EncodedSample>]> = [
    ['mergeWith', (x, y) => x.pipe(mergeWith(y))],
    ['concat', (x, y) => concat(x, y)],
    ['interleave', (x, y) => interleave(x, y)],
  ];
  for (const [name, merge] of merges)
    it(`${name}: the same image at the same index in two folders with the same seed gets different brightness and flips`, async () => {
      const { drawn } = await draws(merge(imageFolder(a, { seed: 1, shuffle: false }), imageFolder(b, { seed: 1, shuffle: false })));
      const both = pairs(drawn);
      expect(both).toHaveLength(80);
      for (const [x, y] of both) expect(x.index).toBe(y.index);
      // Before: 80 of 80 pairs drew the same delta and flip. Deltas are continuous: none may match.
      expect(both.filter(([x, y]) => x.delta === y.delta)).toEqual([]);
      // Flips: Binomial(80, 1/2) pairs agree; 5 standard deviations (22) either side of 40.
      const sameFlip = both.filter(([x, y]) => x.flipH === y.flipH).length;
      expect(sameFlip).toBeGreaterThan(40 - 22);
      expect(sameFlip).toBeLessThan(40 + 22);
    });

  it("the first source's draws are the ones it makes alone (pipelines of one source are unchanged), in any merge", async () => {
    const alone = (await draws(imageFolder(a, { seed: 1, shuffle: false }))).drawn;
    const merged = (await draws(concat(imageFolder(a, { seed: 1, shuffle: false }), imageFolder(b, { seed: 1, shuffle: false })))).drawn;
    expect(merged.filter((d) => d.folder === 'a')).toEqual(alone);
  });

  it('an explicit operator seed is kept apart per source too', async () => {
    const data = { images: new Float32Array(40 * 3).fill(0.5), shape: [40, 1, 1, 3] as const, labels: Array.from({ length: 40 }, () => 0) };
    const deltas: number[][] = [[], []];
    const chain = fromArrays(data, { seed: 1, shuffle: false })
      .pipe(map((s) => ({ ...s, from: 0 })))
      .pipe(
        mergeWith(fromArrays(data, { seed: 1, shuffle: false }).pipe(map((s) => ({ ...s, from: 1 })))),
        augment({ brightness: 0.3, seed: 9 }),
        tap((s) => deltas[(s as unknown as { from: number }).from]?.push((valuesOf(s)[0] as number) - 0.5)),
        batch(8),
      );
    for await (const x of toAsyncIterable(chain)) expect(x.shape[0]).toBe(8);
    expect(deltas[0]).toHaveLength(40);
    expect(deltas[0]?.filter((d, i) => d === deltas[1]?.[i])).toEqual([]);
  });
});

describe('interleave: an ordered merge', () => {
  it('three identical runs give identical batches and order, one image of each folder in turn', async () => {
    const run = async (): Promise<{ order: string[]; bytes: Buffer }> => {
      const { drawn, batches } = await draws(interleave(imageFolder(a, { seed: 1 }), imageFolder(b, { seed: 1 })));
      return { order: drawn.map((d) => `${d.folder}/${d.file}`), bytes: fingerprint(batches) };
    };
    const [r1, r2, r3] = [await run(), await run(), await run()];
    expect(r1.order).toHaveLength(160);
    expect(r2.order).toEqual(r1.order);
    expect(r3.order).toEqual(r1.order);
    expect(r2.bytes.equals(r1.bytes) && r3.bytes.equals(r1.bytes)).toBe(true);
    expect(r1.order.map((o) => o[0]).join('')).toBe('ab'.repeat(80));
  });

  it('inputs of different lengths: the shorter one leaves the turn when done; take(n) stops all inputs; at least one input', async () => {
    const data = (n: number, label: number) => ({
      images: new Float32Array(n * 3).fill(label / 4),
      shape: [n, 1, 1, 3] as const,
      labels: Array.from({ length: n }, () => label),
    });
    const labels = async (x$: Observable<ImageSample>): Promise<number[]> => {
      const out: number[] = [];
      for await (const x of toAsyncIterable(x$.pipe(batch(1)))) out.push(x.labels[0] as number);
      return out;
    };
    const three = (): Observable<ImageSample> =>
      interleave(
        fromArrays(data(2, 0), { shuffle: false }),
        fromArrays(data(5, 1), { shuffle: false }),
        fromArrays(data(3, 2), { shuffle: false }),
      );
    expect(await labels(three())).toEqual([0, 1, 2, 0, 1, 2, 1, 2, 1, 1]);
    expect(await labels(three().pipe(take(4)))).toEqual([0, 1, 2, 0]);
    // Without a sink it keeps the same order.
    const plain: number[] = [];
    await new Promise<void>((resolve, reject) => three().subscribe({ next: (s) => plain.push(s.label), error: reject, complete: resolve }));
    expect(plain).toEqual([0, 1, 2, 0, 1, 2, 1, 2, 1, 1]);
    // ... and its inputs still draw apart: the same data and seed twice, brightness after it.
    const same = data(30, 0);
    const values: number[] = [];
    await new Promise<void>((resolve, reject) =>
      interleave(fromArrays(same, { seed: 4, shuffle: false }), fromArrays(same, { seed: 4, shuffle: false }))
        .pipe(augment({ brightness: 0.3 }))
        .subscribe({ next: (s) => values.push(valuesOf(s)[0] as number), error: reject, complete: resolve }),
    );
    const pairsOf = Array.from({ length: 30 }, (_, i) => [values[2 * i], values[2 * i + 1]]);
    expect(pairsOf.filter(([x, y]) => x === y)).toEqual([]);
    expect(() => interleave()).toThrow(/at least one source/);
  });
});

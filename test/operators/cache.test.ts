import { stat, utimes, writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { map, take } from 'rxjs';
import { beforeEach, describe, expect, it } from 'vitest';
import { augment, batch, cache, cutmix, mixup, normalizeResize, shuffleWindow } from '../../src/operators/index.js';
import { imageFolder, listImageFolder } from '../../src/sources/imageFolder.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import type { ImageSample } from '../../src/core/types.js';
import { valuesOf } from '../../src/core/image.js';
import { collect, tempDir } from '../helpers.js';

let root = '';
beforeEach(async () => {
  root = await tempDir();
  await writeSyntheticFolder(root, { classes: 2, perClass: 5, seed: 9, minSide: 20, maxSide: 40 });
  // Whole-second times, so corruptInPlace can restore them exactly.
  for (const f of (await listImageFolder(root)).files) await utimes(f.path, 1_700_000_000, 1_700_000_000);
});

/** Overwrites every image with garbage of the same size and restores its time: invisible to the fingerprint. */
async function corruptInPlace(): Promise<void> {
  for (const f of (await listImageFolder(root)).files) {
    const s = await stat(f.path);
    await writeFile(f.path, Buffer.alloc(s.size, 7));
    await utimes(f.path, 1_700_000_000, 1_700_000_000);
  }
}

const pixels = (samples: ImageSample[]) => samples.map((s) => [s.origin, Array.from(s.image)]);

describe('cache', () => {
  it('replays the first epoch without touching the stages before it, stamped with the new epoch', async () => {
    const ds = imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size: 6 }), cache());
    const e0 = await collect(ds);
    await corruptInPlace(); // any decode now fails: a warm epoch must not decode
    const e1 = await collect(ds);
    const e2 = await collect(ds);
    expect(pixels(e1)).toEqual(pixels(e0));
    expect(pixels(e2)).toEqual(pixels(e0));
    expect(e1.every((s) => s.epoch === 1) && e2.every((s) => s.epoch === 2)).toBe(true);
    // The random steps after the cache draw anew each epoch.
    const aug = imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size: 6 }), cache(), augment({ brightness: 0.3 }));
    await expect(collect(aug)).rejects.toThrow(/cannot decode/); // a fresh cache: cold
  });

  it('in memory, stays as recorded through epochs of the whole chain after it (its arrays are shared, never written)', async () => {
    const cached = imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size: 6 }), cache());
    const e0 = pixels(await collect(cached));
    for (const mix of [cutmix({ alpha: 1 }), mixup({ alpha: 1 })]) {
      await collect(cached.pipe(augment({ flip: 'both', brightness: 0.3, clip: true }), shuffleWindow(4), batch(3), mix));
    }
    expect(pixels(await collect(cached))).toEqual(e0);
  });

  it('is invalidated when the source data changes, and keeps nothing from an epoch cut short', async () => {
    const ds = imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size: 6 }), cache());
    await collect(ds.pipe(take(3)));
    await corruptInPlace();
    await expect(collect(ds)).rejects.toThrow(/cannot decode/); // nothing was cached
    const fresh = await tempDir();
    await writeSyntheticFolder(fresh, { classes: 2, perClass: 5, seed: 9, minSide: 20, maxSide: 40 });
    const ds2 = imageFolder(fresh, { seed: 1 }).pipe(normalizeResize({ size: 6 }), cache());
    const e0 = await collect(ds2);
    const [first] = (await listImageFolder(fresh)).files;
    await writeFile(first!.path, Buffer.alloc(10, 1)); // a changed file: new size and time
    await expect(collect(ds2)).rejects.toThrow(new RegExp(`cannot decode '${first!.path}'`));
    expect(e0).toHaveLength(10);
  });

  it('on disk: survives a new pipeline, keyed by the options before it', async () => {
    const dir = await tempDir();
    const build = (size: number) => imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size }), cache({ dir }));
    const cold = await collect(build(6));
    expect((await readdir(dir)).length).toBe(1);
    await corruptInPlace();
    const warm = await collect(build(6)); // a new pipeline, read back from disk
    expect(pixels(warm)).toEqual(pixels(cold));
    await expect(collect(build(7))).rejects.toThrow(/cannot decode/); // other options: other key, cold
  });

  it('after augment, in memory and on disk: replays the flips and brightness the first epoch drew', async () => {
    const dir = await tempDir();
    const values = (samples: ImageSample[]) => samples.map((s) => [s.origin, Array.from(valuesOf(s))]);
    for (const options of [{}, { dir }]) {
      const ds = imageFolder(root, { seed: 1 }).pipe(
        normalizeResize({ size: 6 }),
        augment({ flip: 'both', brightness: 0.3, seed: 4 }),
        cache({ ...options, key: 'after-augment' }),
      );
      const e0 = await collect(ds);
      expect(e0.some((s) => s.flipH) && e0.some((s) => s.flipV)).toBe(true);
      expect(values(await collect(ds))).toEqual(values(e0));
    }
  });

  it('needs a key after a stage it cannot see through, and stores exact values', async () => {
    const foreign = imageFolder(root).pipe(
      normalizeResize({ size: 5 }),
      map((s) => ({ ...s, image: s.image.map((v) => v * 0.3) })),
    );
    await expect(collect(foreign.pipe(cache()))).rejects.toThrow(/pass the `key` option/);
    const keyed = foreign.pipe(cache({ key: 'scaled-0.3' }));
    const a = await collect(keyed);
    const b = await collect(keyed);
    expect(pixels(b)).toEqual(pixels(a)); // float32 values that are not k/255 come back bit for bit
    expect(() => cache({ key: '' })).toThrow(/'key'/);
    expect(path.isAbsolute(root)).toBe(true);
  });
});

describe('cache on disk, under stress', () => {
  it('keeps two first epochs recording at once apart, and leaves nothing behind from one cut short', async () => {
    const { fromArrays } = await import('../../src/sources/fromArrays.js');
    const n = 40;
    const images = new Uint8Array(n * 2 * 2 * 3);
    for (let i = 0; i < n; i++) images.fill(i, i * 12, (i + 1) * 12); // image i is all byte i
    const dir = await tempDir();
    const build = () =>
      fromArrays({ images, shape: [n, 2, 2, 3], labels: Array.from({ length: n }, (_, i) => i % 10) }, { seed: 3, shuffle: true }).pipe(
        cache({ dir }),
      );
    const second = build();
    await collect(second.pipe(take(5))); // cut short: its partial recording is removed (after teardown, asynchronously)
    // Waits for the removal however long it takes (no fixed window); left behind, the test times out.
    while ((await readdir(dir)).length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    // Two recordings at once, in different orders (epoch 0 of one, epoch 1 of the other).
    await Promise.all([collect(build()), collect(second)]);
    const replay = await collect(build());
    expect(replay).toHaveLength(n);
    for (const s of replay) {
      const i = s.image[0] as number;
      expect([s.label, Array.from(s.image).every((v) => v === i)]).toEqual([i % 10, true]);
    }
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });
});

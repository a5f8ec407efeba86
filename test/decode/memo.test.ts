import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { from } from 'rxjs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SkipLog, type EncodedSample, type ImageSample } from '../../src/core/types.js';
import { DecodedImages } from '../../src/decode/memo.js';
import { descriptionOf } from '../../src/flow/describe.js';
import { normalizeResize } from '../../src/operators/normalizeResize.js';
import { collect, tempDir } from '../helpers.js';

/** `n` PNG files of 6x5 noise in a fresh folder, as samples. */
async function files(n: number): Promise<EncodedSample[]> {
  const dir = await tempDir('mixstream-memo-');
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const file = path.join(dir, `${i}.png`);
      const px = Buffer.from(Array.from({ length: 6 * 5 * 3 }, (_, j) => (j * 37 + i * 101) % 256));
      await sharp(px, { raw: { width: 6, height: 5, channels: 3 } })
        .png()
        .toFile(file);
      return { input: file, origin: file, label: i, numClasses: n, epoch: 0, index: i };
    }),
  );
}

const images = (out: ImageSample[]): number[][] => out.map((s) => Array.from(s.image as Uint8Array));

describe('DecodedImages (normalizeResize decoded)', () => {
  it('decodes each file once: a second pass reads nothing (the files are gone) and gives the same bytes', async () => {
    const samples = await files(3);
    const memo = new DecodedImages(1 << 20);
    const first = await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo })));
    expect(memo.bytes).toBe(3 * 4 * 4 * 3);
    await Promise.all(samples.map((s) => rm(s.input as string)));
    const second = await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo })));
    expect(images(second)).toEqual(images(first));
    expect(second.map((s) => s.label)).toEqual([0, 1, 2]);
    // Without the memo the same pass must read the files: it fails, naming the first.
    await expect(collect(from(samples).pipe(normalizeResize({ size: 4 })))).rejects.toThrow(/0\.png/);
  });

  it('keeps images only up to maxBytes, and per output size: past either, the file is decoded again', async () => {
    const samples = await files(3);
    const memo = new DecodedImages(2 * 4 * 4 * 3);
    await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo })));
    expect(memo.bytes).toBe(2 * 4 * 4 * 3);
    // Which two were kept depends on which decodes finished first; the third was not.
    const kept = samples.filter((s) => memo.get(DecodedImages.key(s.input as string, 4, 4, undefined)) !== undefined);
    const left = samples.find((s) => !kept.includes(s))!;
    expect(kept).toHaveLength(2);
    await rm(left.input as string);
    await expect(collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo })))).rejects.toThrow(
      path.basename(left.input as string),
    );
    // Kept at 4x4 is not kept at 5x5: a removed file is then read, and missed.
    await rm(kept[0]!.input as string);
    await expect(collect(from(kept.slice(0, 1)).pipe(normalizeResize({ size: 4, decoded: memo })))).resolves.toHaveLength(1);
    await expect(collect(from(kept.slice(0, 1)).pipe(normalizeResize({ size: 5, decoded: memo })))).rejects.toThrow(
      path.basename(kept[0]!.input as string),
    );
  });

  it('past maxBytes, with a disk folder: the rest are kept on disk as resized bytes and read back from there, until the file changes', async () => {
    const samples = await files(3);
    const disk = await tempDir('mixstream-memo-disk-');
    const memo = new DecodedImages(4 * 4 * 3, { disk });
    const first = await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo })));
    await memo.disk!.settled();
    expect(memo.bytes).toBe(4 * 4 * 3);
    const onDisk = (
      await Promise.all((await readdir(disk)).map(async (d) => (await readdir(path.join(disk, d))).map((f) => path.join(disk, d, f))))
    ).flat();
    expect(onDisk).toHaveLength(2);
    expect(onDisk.every((f) => f.endsWith('.u8'))).toBe(true);
    // Same bytes on a second pass; then a cached file overwritten with a marker comes back as the
    // marker: the image was read from disk, not decoded.
    expect(images(await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo }))))).toEqual(images(first));
    for (const f of onDisk) await writeFile(f, Buffer.alloc(4 * 4 * 3, 7));
    const marked = images(await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo }))));
    expect(marked.filter((px) => px.every((v) => v === 7))).toHaveLength(2);
    // A source file with a new time is another key: decoded again, its true pixels back.
    for (const s of samples) await utimes(s.input as string, new Date(), new Date(Date.now() + 60_000));
    const fresh = new DecodedImages(0, { disk });
    expect(images(await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: fresh }))))).toEqual(images(first));
  });

  it('keeps no failure: a damaged file is reported on every pass', async () => {
    const [good] = await files(1);
    const bad = path.join(path.dirname(good!.input as string), 'bad.png');
    await writeFile(bad, 'not a png');
    const memo = new DecodedImages(1 << 20);
    const log = new SkipLog();
    const samples = [good!, { ...good!, input: bad, origin: bad, index: 1 }];
    for (let pass = 0; pass < 2; pass++)
      expect(await collect(from(samples).pipe(normalizeResize({ size: 4, decoded: memo, onError: 'skip', onSkip: log.add })))).toHaveLength(
        1,
      );
    expect(log.count).toBe(2);
  });

  it('is not part of the step as recorded (results.json reads the same with or without it)', () => {
    expect(descriptionOf(normalizeResize({ size: 4, decoded: new DecodedImages(10) }))).toEqual(
      descriptionOf(normalizeResize({ size: 4 })),
    );
    expect(() => new DecodedImages(-1)).toThrow(/maxBytes must be an integer >= 0, got -1/);
  });
});

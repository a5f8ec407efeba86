import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { of } from 'rxjs';
import { valuesOf } from '../../src/core/image.js';
import { SkipLog, type EncodedSample } from '../../src/core/types.js';
import { normalizeResize } from '../../src/operators/normalizeResize.js';
import { imageFolder } from '../../src/sources/imageFolder.js';
import { collect, tempDir } from '../helpers.js';

const sample = (input: string | Uint8Array, index = 0): EncodedSample => ({
  input,
  origin: typeof input === 'string' ? input : `bytes${index}`,
  label: 0,
  numClasses: 1,
  epoch: 0,
  index,
});

/** A 4x2 image, left half red, right half blue. */
const halves = (): Sharp => {
  const px = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) px.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
  return sharp(px, { raw: { width: 4, height: 2, channels: 3 } });
};

describe('normalizeResize', () => {
  it('decodes JPEG, PNG, WebP, GIF and TIFF to RGB bytes (values in [0, 1]) at the asked size', async () => {
    const encoded = await Promise.all([
      halves().jpeg({ quality: 100 }).toBuffer(),
      halves().png().toBuffer(),
      halves().webp({ lossless: true }).toBuffer(),
      halves().gif().toBuffer(),
      halves().tiff().toBuffer(),
    ]);
    const out = await collect(of(...encoded.map((b, i) => sample(b, i))).pipe(normalizeResize({ size: [2, 4] })));
    expect(out).toHaveLength(5);
    for (const s of out) {
      expect([s.height, s.width, s.channels, s.image.length]).toEqual([2, 4, 3, 24]);
      expect(s.image).toBeInstanceOf(Uint8Array);
      const v = valuesOf(s);
      expect(v.every((x) => x >= 0 && x <= 1)).toBe(true);
      // Leftmost pixel red, rightmost blue (JPEG within its error).
      expect(v[0]).toBeGreaterThan(0.8);
      expect(v[2]).toBeLessThan(0.2);
      expect(v[3 * 3 + 2]).toBeGreaterThan(0.8);
    }
  });

  it('applies EXIF orientation, turns grayscale into 3 channels and drops alpha', async () => {
    // Orientation 3 (rotate 180): the stored left-red image displays right-red.
    const rotated = await halves().jpeg({ quality: 100 }).withMetadata({ orientation: 3 }).toBuffer();
    const gray = await sharp(Buffer.from([0, 255, 0, 255]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    const rgba = await sharp(Buffer.from([10, 20, 30, 0, 10, 20, 30, 255]), { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toBuffer();
    const [r, g, a] = await collect(of(sample(rotated), sample(gray, 1), sample(rgba, 2)).pipe(normalizeResize({ size: [2, 2] })));
    expect(r!.image[0]).toBeLessThan(0.2 * 255); // top-left is now blue's red channel
    expect(r!.image[2]).toBeGreaterThan(0.8 * 255);
    expect(g?.channels).toBe(3);
    expect(Array.from(valuesOf(g!).subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(valuesOf(g!).subarray(3, 6))).toEqual([1, 1, 1]);
    expect(a?.image.length).toBe(12);
  });

  it('resizes decoded samples with the same maths and keeps input order at any concurrency', async () => {
    const root = await tempDir();
    for (let i = 0; i < 12; i++) {
      await mkdir(path.join(root, `c${i % 2}`), { recursive: true });
      await sharp({ create: { width: 20 + i * 7, height: 30, channels: 3, background: { r: i * 20, g: 0, b: 0 } } })
        .jpeg()
        .toFile(path.join(root, `c${i % 2}`, `${i}.jpg`));
    }
    const a = await collect(imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size: 8, concurrency: 1 })));
    const b = await collect(imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size: 8, concurrency: 6 })));
    expect(b.map((s) => s.origin)).toEqual(a.map((s) => s.origin));
    expect(b.map((s) => Array.from(s.image))).toEqual(a.map((s) => Array.from(s.image)));
  });

  it('fails naming the file and the reason, or skips and counts with onError skip', async () => {
    const root = await tempDir();
    await mkdir(path.join(root, 'c'), { recursive: true });
    await halves()
      .jpeg()
      .toFile(path.join(root, 'c', 'a.jpg'));
    await writeFile(path.join(root, 'c', 'b.jpg'), 'this is not an image');
    const jpeg = await halves().jpeg().toBuffer();
    await writeFile(path.join(root, 'c', 'c.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    await halves()
      .png()
      .toFile(path.join(root, 'c', 'd.png'));
    const files = imageFolder(root, { shuffle: false });
    await expect(collect(files.pipe(normalizeResize({ size: 4 })))).rejects.toThrow(
      new RegExp(`cannot decode '${path.join(root, 'c', 'b.jpg')}': is not a JPEG, PNG, WebP, GIF or TIFF image`),
    );
    const log = new SkipLog();
    const kept = await collect(files.pipe(normalizeResize({ size: 4, onError: 'skip', onSkip: log.add })));
    expect(kept.map((s) => path.basename(s.origin))).toEqual(['a.jpg', 'd.png']);
    expect(log.count).toBe(2);
    expect(log.errors.map((e) => path.basename(e.origin))).toEqual(['b.jpg', 'c.jpg']);
    expect(log.errors[1]?.reason).toMatch(/premature|truncat|corrupt|end/i);
  });

  it('validates options when created', () => {
    expect(() => normalizeResize({ size: 0 })).toThrow(/'size'/);
    expect(() => normalizeResize({ size: [2, 2.5] })).toThrow(/'size'/);
    expect(() => normalizeResize({ size: 2, concurrency: 0 })).toThrow(/'concurrency'/);
    expect(() => normalizeResize({ size: 2, onError: 'ignore' as 'skip' })).toThrow(/'onError'/);
  });
});

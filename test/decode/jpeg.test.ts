import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isJpeg, jpegOrientation } from '../../src/core/jpeg.js';
import { decodeImage } from '../../src/decode/decodeImage.js';

const base = () => sharp({ create: { width: 6, height: 4, channels: 3, background: { r: 200, g: 100, b: 50 } } });

describe('jpeg', () => {
  it('reads the EXIF orientation in both byte orders, 1 when absent', async () => {
    for (const o of [1, 3, 6, 8]) expect(jpegOrientation(await base().jpeg().withMetadata({ orientation: o }).toBuffer())).toBe(o);
    expect(jpegOrientation(await base().jpeg().toBuffer())).toBe(1);
    // A big-endian ("MM") TIFF header, built by hand: FFD8, APP1 "Exif\0\0" MM, IFD0 with 0x0112 = 5.
    const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0];
    const app1 = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0, app1.length + 2, ...app1, 0xff, 0xd9]);
    expect(jpegOrientation(bytes)).toBe(5);
    expect(jpegOrientation(bytes.subarray(0, 20))).toBe(1); // cut short: no throw
    expect(isJpeg(bytes)).toBe(true);
    expect(isJpeg(await base().png().toBuffer())).toBe(false);
  });

  it('decodes plain JPEGs through libjpeg-turbo to what sharp decodes, within rounding', async () => {
    const px = Buffer.alloc(64 * 48 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 7 + (i % 3) * 50) % 256;
    const smooth = await sharp(px, { raw: { width: 64, height: 48, channels: 3 } })
      .blur(3)
      .jpeg({ quality: 95 })
      .toBuffer();
    const fast = await decodeImage(smooth, 'fast', 48, 64);
    // A PNG of sharp's own decode of the same JPEG takes the sharp path: compare the two.
    const decoded = await sharp(smooth).png().toBuffer();
    const slow = await decodeImage(decoded, 'slow', 48, 64);
    if (fast._tag !== 'Right' || slow._tag !== 'Right') throw new Error('decode failed');
    // libjpeg-turbo runs its fast integer IDCT: a few levels apart at worst, about one on average.
    let worst = 0;
    let sum = 0;
    for (let i = 0; i < fast.right.length; i++) {
      const d = Math.abs((fast.right[i] as number) - (slow.right[i] as number));
      worst = Math.max(worst, d);
      sum += d;
    }
    expect(worst).toBeLessThanOrEqual(6);
    expect(sum / fast.right.length).toBeLessThan(1.5);
  });
});

describe('decodeImage output', () => {
  it('is the decoded image resized in 8 bits, as bytes', async () => {
    const px = Buffer.alloc(37 * 23 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 13) % 256;
    const out = await decodeImage(
      await sharp(px, { raw: { width: 37, height: 23, channels: 3 } })
        .png()
        .toBuffer(),
      'x',
      16,
      16,
    );
    if (out._tag !== 'Right') throw new Error(out.left.reason);
    const { resizeBytes } = await import('../../src/core/image.js');
    expect(out.right).toBeInstanceOf(Uint8Array);
    expect(Array.from(out.right)).toEqual(Array.from(resizeBytes(px, 23, 37, 3, 16, 16)));
  });
});

describe('decode pool', () => {
  it('keeps its reused decode buffer: an image already at the asked size does not take it away', async () => {
    const { decodePool } = await import('../../src/decode/pool.js');
    const pool = decodePool(1);
    const same = await base().jpeg().toBuffer(); // 6x4, asked at 4x6: returned as a copy
    // Texture, so libjpeg-turbo's fast IDCT and sharp's decoder give different bytes: a fall back
    // to sharp (what a lost buffer caused) shows.
    const px = Buffer.from(Array.from({ length: 30 * 20 * 3 }, (_, i) => (i * 7919) % 256));
    const other = await sharp(px, { raw: { width: 30, height: 20, channels: 3 } })
      .jpeg({ quality: 80 })
      .toBuffer();
    await pool.decode(same, 'same', 4, 6);
    const viaPool = await pool.decode(other, 'other', 8, 8);
    const direct = await decodeImage(other, 'other', 8, 8); // libjpeg-turbo, no scratch
    if (viaPool._tag !== 'Right' || direct._tag !== 'Right') throw new Error('decode failed');
    expect(Array.from(viaPool.right)).toEqual(Array.from(direct.right));
  });
});

describe('decode pool after a worker dies', () => {
  it('sends later work to the live workers, and starts afresh when none is left', async () => {
    const { DecodePool, decodePool } = await import('../../src/decode/pool.js');
    const jpeg = await base().jpeg().toBuffer();
    const pool = new DecodePool(2);
    await pool.decode(jpeg, 'a', 2, 2);
    // terminate() resolves on the worker's exit event, after the pool's own listener has seen it: no wait needed.
    await (pool as unknown as { workers: Array<{ worker: { terminate(): Promise<number> } }> }).workers[0]!.worker.terminate();
    expect(pool.size).toBe(1);
    expect((await pool.decode(jpeg, 'b', 2, 2))._tag).toBe('Right');
    await pool.close();
    await expect(pool.decode(jpeg, 'c', 2, 2)).rejects.toThrow(/decode workers all stopped/);
    const shared = decodePool(3);
    await shared.close();
    expect(decodePool(3)).not.toBe(shared);
    expect((await decodePool(3).decode(jpeg, 'd', 2, 2))._tag).toBe('Right');
  });
});

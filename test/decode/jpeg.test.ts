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
    const smooth = await sharp(px, { raw: { width: 64, height: 48, channels: 3 } }).blur(3).jpeg({ quality: 95 }).toBuffer();
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
    expect(worst).toBeLessThanOrEqual(6 / 255);
    expect(sum / fast.right.length).toBeLessThan(1.5 / 255);
  });
});

describe('decodeImage output', () => {
  it('is resized in 8 bits: every value is exactly k / 255, so caches and shuffle windows hold it in a byte', async () => {
    const px = Buffer.alloc(37 * 23 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 13) % 256;
    const jpeg = await sharp(px, { raw: { width: 37, height: 23, channels: 3 } }).jpeg().toBuffer();
    const out = await decodeImage(jpeg, 'x', 16, 16);
    if (out._tag !== 'Right') throw new Error(out.left.reason);
    expect(out.right.every((v) => Math.fround(Math.round(v * 255) / 255) === v)).toBe(true);
    const { packUnit } = await import('../../src/core/image.js');
    expect(packUnit(out.right).dtype).toBe('u8');
  });
});

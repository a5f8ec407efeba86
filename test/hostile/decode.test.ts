/** Decoders check the declared image size before they allocate, and refuse special files: each hostile file built here. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { lastValueFrom, of, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegDimensions } from '../../src/core/jpeg.js';
import { DEFAULT_MAX_PIXELS } from '../../src/core/limits.js';
import { SkipLog, type EncodedSample } from '../../src/core/types.js';
import { decodeImage, type Scratch } from '../../src/decode/decodeImage.js';
import { DecodeError, normalizeResize } from '../../src/operators/normalizeResize.js';
import { jpegScanCount } from '../../src/core/jpeg.js';
import { sniffImageFormat, unlistedFormatReason } from '../../src/core/format.js';
import { fifoAt, jpegPixelBomb, jpegScanBomb, pngPixelBomb, realImage, scratchDir, socketAt, svgBomb } from './corpus.js';

let dir = '';
let remove = async (): Promise<void> => {};
beforeAll(async () => {
  ({ dir, remove } = await scratchDir('hostile-decode'));
});
afterAll(() => remove());

const reasonOf = (r: E.Either<{ reason: string; origin: string }, Uint8Array>): string =>
  E.isLeft(r) ? `${r.left.origin}: ${r.left.reason}` : 'decoded';
// Far below what a decode of the declared size would take (26000^2 x 3 bytes = 2 GB).
const RSS_SLACK = 256 * 2 ** 20;

describe('pixel bombs are refused from the header, before any buffer is sized from it', () => {
  it('a 26000 x 26000 JPEG of a few hundred bytes: turbo path (main thread and worker scratch), naming file, size and limit', async () => {
    const bomb = jpegPixelBomb(26000, 26000);
    expect(bomb.length).toBeLessThan(400);
    expect(jpegDimensions(bomb)).toEqual({ width: 26000, height: 26000 });
    const file = path.join(dir, 'bomb.jpg');
    await writeFile(file, bomb);
    const before = process.memoryUsage().rss;
    const scratch: Scratch = { buffer: Buffer.allocUnsafe(1 << 20) };
    for (const r of [
      await decodeImage(file, file, 8, 8),
      await decodeImage(file, file, 8, 8, scratch),
      await decodeImage(bomb, 'bytes#0', 8, 8),
    ]) {
      expect(reasonOf(r)).toMatch(
        /bomb\.jpg: declares an image of 26000x26000 = 676000000 pixels, over the limit of 40000000|bytes#0: declares an image of 26000x26000/,
      );
    }
    expect(scratch.buffer.length).toBe(1 << 20); // never grown toward the declared size
    expect(process.memoryUsage().rss - before).toBeLessThan(RSS_SLACK);
  });

  it('a 30000 x 30000 PNG of about a hundred bytes: sharp path, refused from its IHDR', async () => {
    const file = path.join(dir, 'bomb.png');
    await writeFile(file, pngPixelBomb(30000, 30000));
    const before = process.memoryUsage().rss;
    expect(reasonOf(await decodeImage(file, file, 8, 8))).toMatch(
      /bomb\.png: declares an image of 30000x30000 = 900000000 pixels, over the limit of 40000000/,
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(RSS_SLACK);
  });

  it('real images over a lower limit are refused (JPEG and PNG); within it they decode', async () => {
    const jpeg = await realImage(100, 80, 'jpeg');
    const png = await realImage(100, 80, 'png');
    expect(reasonOf(await decodeImage(jpeg, 'a.jpg', 8, 8, undefined, 7999))).toBe(
      'a.jpg: declares an image of 100x80 = 8000 pixels, over the limit of 7999 (maxPixels, --max-pixels)',
    );
    expect(reasonOf(await decodeImage(png, 'a.png', 8, 8, undefined, 7999))).toMatch(
      /a\.png: declares an image of 100x80 = 8000 pixels, over the limit of 7999/,
    );
    expect(reasonOf(await decodeImage(jpeg, 'a.jpg', 8, 8, undefined, 8000))).toBe('decoded');
    expect(reasonOf(await decodeImage(png, 'a.png', 8, 8))).toBe('decoded');
    expect(DEFAULT_MAX_PIXELS).toBe(40_000_000);
  });

  it('normalizeResize passes maxPixels to its worker threads; with onError skip the image is counted and the rest go on', async () => {
    const big = path.join(dir, 'big.jpg');
    const small = path.join(dir, 'small.jpg');
    await writeFile(big, await realImage(100, 80));
    await writeFile(small, await realImage(20, 10));
    const samples: EncodedSample[] = [big, small].map((f, index) => ({ input: f, origin: f, label: 0, numClasses: 1, epoch: 0, index }));
    await expect(lastValueFrom(of(...samples).pipe(normalizeResize({ size: 4, workers: 1, maxPixels: 5000 }), toArray()))).rejects.toThrow(
      DecodeError,
    );
    const log = new SkipLog();
    const out = await lastValueFrom(
      of(...samples).pipe(normalizeResize({ size: 4, workers: 1, maxPixels: 5000, onError: 'skip', onSkip: log.add }), toArray()),
    );
    expect(out.map((s) => s.origin)).toEqual([small]);
    expect(log.errors.map((e) => [e.origin, e.reason])).toEqual([
      [big, 'declares an image of 100x80 = 8000 pixels, over the limit of 5000 (maxPixels, --max-pixels)'],
    ]);
  });
});

describe('special files are refused by name, never waited on', () => {
  it('a FIFO, a socket, /dev/zero, /proc and a folder named like an image: main thread and worker path', async () => {
    const fifo = path.join(dir, 'pipe.jpg');
    fifoAt(fifo);
    const sock = path.join(dir, 'sock.jpg');
    socketAt(sock);
    const scratch: Scratch = { buffer: Buffer.allocUnsafe(1024) };
    const cases: Array<[string, RegExp]> = [
      [fifo, /pipe\.jpg: is a FIFO \(named pipe\), not a regular file/],
      [sock, /sock\.jpg: is a socket or a FIFO with no writer, not a regular file/],
      ['/dev/zero', /\/dev\/zero: is a character device, not a regular file/],
      ['/proc/self/status', /\/proc\/self\/status: is under \/proc/],
      [dir, /is a folder, not a regular file/],
    ];
    for (const [file, reason] of cases) {
      expect(reasonOf(await decodeImage(file, file, 8, 8))).toMatch(reason);
      expect(reasonOf(await decodeImage(file, file, 8, 8, scratch))).toMatch(reason);
    }
  });
});

describe('decode-time bombs (issue 23, fault 7): refused from their content before any decoder runs', () => {
  it('a 184-byte SVG saved as .png, a PDF as .jpg, an HTML page as .webp: not a listed format, whatever the name (both paths)', async () => {
    const svg = svgBomb();
    expect(svg.length).toBe(184);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['blur.png', svg, /blur\.png: is not a JPEG, PNG, WebP, GIF or TIFF image \(its content is SVG\); not decoded$/],
      [
        'doc.jpg',
        new TextEncoder().encode('%PDF-1.7\n%\u00e2\u00e3'),
        /doc\.jpg: is not a JPEG, PNG, WebP, GIF or TIFF image \(its content is PDF\)/,
      ],
      ['page.webp', new TextEncoder().encode('<!doctype html><svg></svg>'), /page\.webp: is not a .* image \(its content is SVG\)/],
      ['empty.gif', new Uint8Array(0), /empty\.gif: is empty, not an image/],
    ];
    const scratch: Scratch = { buffer: Buffer.allocUnsafe(1 << 16) };
    for (const [name, bytes, reason] of cases) {
      const file = path.join(dir, name);
      await writeFile(file, bytes);
      expect(reasonOf(await decodeImage(file, file, 8, 8)), name).toMatch(reason);
      expect(reasonOf(await decodeImage(file, file, 8, 8, scratch)), name).toMatch(reason);
    }
    // The listed formats are still told apart by content, not by name.
    for (const format of ['jpeg', 'png'] as const) {
      const file = path.join(dir, `really-${format}.gif`);
      await writeFile(file, await realImage(20, 10, format));
      expect(sniffImageFormat(await realImage(20, 10, format))).toBe(format);
      expect(reasonOf(await decodeImage(file, file, 8, 8))).toBe('decoded');
    }
    const { default: sharp } = await import('sharp');
    const px = { create: { width: 8, height: 8, channels: 3 as const, background: '#808080' } };
    for (const [format, bytes] of [
      ['webp', await sharp(px).webp().toBuffer()],
      ['gif', await sharp(px).gif().toBuffer()],
      ['tiff', await sharp(px).tiff().toBuffer()],
    ] as const) {
      expect(sniffImageFormat(bytes), format).toBe(format);
      expect(unlistedFormatReason(bytes)).toBeUndefined();
      expect(reasonOf(await decodeImage(bytes, format, 4, 4))).toBe('decoded');
    }
  });

  it('a progressive JPEG with 50,000 empty scans: refused by its scan count (one pass of the decoder each), naming the file', async () => {
    const bomb = await jpegScanBomb(50_000, 256);
    const file = path.join(dir, 'scans.jpg');
    await writeFile(file, bomb);
    expect(jpegScanCount(bomb)).toBeGreaterThan(50_000);
    expect(jpegScanCount(bomb, 501)).toBe(501); // counting stops at the limit
    const scratch: Scratch = { buffer: Buffer.allocUnsafe(1 << 16) };
    for (const r of [
      await decodeImage(file, file, 8, 8),
      await decodeImage(file, file, 8, 8, scratch),
      await decodeImage(bomb, 'bytes#3', 8, 8),
    ])
      expect(reasonOf(r)).toMatch(/(scans\.jpg|bytes#3): holds more than 500 scans \(a progressive JPEG scan bomb\); not decoded/);
    // Real JPEGs, baseline and progressive, count their own scans and decode.
    const { default: sharp } = await import('sharp');
    const px = { create: { width: 64, height: 48, channels: 3 as const, background: '#336699' } };
    const baseline = await sharp(px).jpeg().toBuffer();
    const progressive = await sharp(px).jpeg({ progressive: true }).toBuffer();
    expect(jpegScanCount(baseline)).toBe(1);
    expect(jpegScanCount(progressive)).toBeGreaterThan(1);
    expect(jpegScanCount(progressive)).toBeLessThan(20);
    expect(reasonOf(await decodeImage(progressive, 'p.jpg', 8, 8))).toBe('decoded');
    // Marker-like bytes inside a segment's payload are no scans: the walk skips segments by length.
    const withComment = Buffer.concat([
      baseline.subarray(0, 2),
      Buffer.from([0xff, 0xfe, 0x00, 0x06, 0xff, 0xda, 0xff, 0xda]),
      baseline.subarray(2),
    ]);
    expect(jpegScanCount(withComment)).toBe(1);
  });
});

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
import { fifoAt, jpegPixelBomb, pngPixelBomb, realImage, scratchDir, socketAt } from './corpus.js';

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

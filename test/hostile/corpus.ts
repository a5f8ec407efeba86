/**
 * Generators of hostile and odd inputs, each built small inside a test's own temp folder: pixel
 * bombs (a header declaring a huge image), gzip and record-length bombs, special files (FIFO,
 * socket), and names with control characters. One module, so every case the hostile tests cover
 * stays reproducible from code, not from files kept in the repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { maskedCrc32c } from '../../src/core/crc32c.js';
import { encodeIdxHeader } from '../../src/core/idx.js';

/** A temp folder of the caller's own, and the function that removes it. */
export async function scratchDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `mixstream-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];

/**
 * A JPEG of a few hundred bytes whose SOF0 header declares width x height: libjpeg-turbo sizes
 * its output from this header (26000 x 26000 made it allocate about 2.1 GB before failing).
 */
export function jpegPixelBomb(width: number, height: number): Uint8Array {
  const dqt = [0xff, 0xdb, ...u16(67), 0x00, ...new Array<number>(64).fill(1)];
  const sof = [0xff, 0xc0, ...u16(17), 8, ...u16(height), ...u16(width), 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0];
  // One Huffman table with a single 1-bit code, enough for a decoder to start on the scan.
  const dht = [0xff, 0xc4, ...u16(20), 0x00, 1, ...new Array<number>(15).fill(0), 0];
  const sos = [0xff, 0xda, ...u16(12), 3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0];
  return new Uint8Array([0xff, 0xd8, ...dqt, ...sof, ...dht, ...sos, ...new Array<number>(64).fill(0), 0xff, 0xd9]);
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG of about a hundred bytes whose IHDR declares width x height RGB (the sharp/libvips path). */
export function pngPixelBomb(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  const idat = gzipSync(Buffer.alloc(1024)).subarray(10); // a little deflate data: the pixels never come
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** A real image: a width x height JPEG (or PNG) of a flat colour. */
export async function realImage(width: number, height: number, format: 'jpeg' | 'png' = 'jpeg'): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 20 } } });
  return format === 'jpeg' ? image.jpeg().toBuffer() : image.png().toBuffer();
}

/**
 * A gzipped IDX images file whose header declares `count` images of rows x cols, holding only
 * `payload` bytes of them: a few hundred KB that would inflate (and resize) to gigabytes.
 */
export function idxGzBomb(count: number, rows: number, cols: number, payload = 1024): Buffer {
  return gzipSync(Buffer.concat([encodeIdxHeader([count, rows, cols]), Buffer.alloc(payload)]));
}

/** A gzipped IDX labels file of `count` labels, all 0. */
export const idxLabelsGz = (count: number): Buffer => gzipSync(Buffer.concat([encodeIdxHeader([count]), Buffer.alloc(count)]));

/** A TFRecord header (length and its valid CRC) declaring a record of `length` bytes. */
export function tfrecordHeader(length: number): Uint8Array {
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  view.setUint32(0, length >>> 0, true);
  view.setUint32(4, Math.floor(length / 2 ** 32), true);
  view.setUint32(8, maskedCrc32c(out, 0, 8), true);
  return out;
}

/**
 * A TFRecord shard whose first record declares `length` bytes; with `sparse`, the file is
 * extended (without writing: a hole) so the record fits, so only a length limit refuses it.
 */
export async function tfrecordLengthBomb(file: string, length: number, sparse: boolean): Promise<void> {
  await writeFile(file, tfrecordHeader(length));
  if (sparse) {
    const handle = await open(file, 'r+');
    await handle.truncate(12 + length + 4);
    await handle.close();
  }
}

/** A FIFO (named pipe) at `file`, with no writer: a plain open or read of it blocks for ever. */
export function fifoAt(file: string): void {
  execFileSync('mkfifo', [file]);
}

/**
 * A Unix socket file at `file` (nobody listening: the file stays, which is what a listing meets).
 * Bound by a child process by its relative name in its folder: socket paths are limited to 107
 * bytes, and a deep temp folder is longer than that.
 */
export function socketAt(file: string): void {
  execFileSync(
    process.execPath,
    ['-e', `require('node:net').createServer().listen(${JSON.stringify(path.basename(file))}, () => process.exit(0))`],
    { cwd: path.dirname(file) },
  );
}

/** A file name with a newline and an ANSI escape (it turns the terminal red if printed raw). */
export const CONTROL_NAME = 'bad\nname\u001b[31m';

/**
 * An SVG of under 200 bytes (saved under an image name) whose blur makes librsvg work for a
 * minute and more, with over a gigabyte, on a canvas within the pixel limit.
 */
export function svgBomb(side = 6000, blur = 900): Uint8Array {
  return new TextEncoder().encode(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><filter id="f"><feGaussianBlur stdDeviation="${blur}"/></filter><rect width="${side}" height="${side}" filter="url(#f)"/></svg>`,
  );
}

/**
 * A real progressive JPEG (side x side) followed by `scans` empty AC scans of its first
 * component before the end marker: a few bytes a scan, and one pass of the decoder over the image
 * per scan (50,000 scans: about a megabyte that took a minute).
 */
export async function jpegScanBomb(scans: number, side = 1024): Promise<Uint8Array> {
  const noise = Buffer.alloc(side * side * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const base = await sharp(noise, { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ progressive: true, quality: 90 })
    .toBuffer();
  // SOS for component 1, spectral band 1..63, successive approximation 0: no entropy data after it.
  const scan = Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3f, 0x00, 0x00]);
  return Buffer.concat([base.subarray(0, base.length - 2), Buffer.concat(new Array<Buffer>(scans).fill(scan)), Buffer.from([0xff, 0xd9])]);
}

/**
 * A manifest whose `head` is followed by `size` bytes of a hole (read back as NUL characters, no
 * disk used): after an unclosed quote, or as a JSON line with no line break, it is one field or
 * line of that many characters.
 */
export async function manifestWithHole(file: string, head: string, size: number): Promise<void> {
  await writeFile(file, head);
  const handle = await open(file, 'r+');
  await handle.truncate(Buffer.byteLength(head) + size);
  await handle.close();
}

/**
 * An honest gzipped MNIST pair of `count` blank 28 x 28 images (labels i mod 10) written as a
 * stream: a few hundred KB a 100,000 images, inflating to 784 bytes an image. The headers tell
 * the truth, so no limit on what a header may declare refuses it; only how it is read can keep
 * the disk and memory it costs bounded.
 */
export async function honestMnistGz(dir: string, count: number): Promise<void> {
  const { createWriteStream } = await import('node:fs');
  const { createGzip } = await import('node:zlib');
  const { pipeline } = await import('node:stream/promises');
  const { Readable } = await import('node:stream');
  const write = async (name: string, dims: number[], rows: (start: number, n: number) => Buffer): Promise<void> => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield encodeIdxHeader(dims);
      for (let start = 0; start < count; start += 4096) yield rows(start, Math.min(4096, count - start));
    }
    await pipeline(Readable.from(chunks()), createGzip({ level: 9 }), createWriteStream(path.join(dir, name)));
  };
  const blank = Buffer.alloc(4096 * 784);
  await write('train-images-idx3-ubyte.gz', [count, 28, 28], (_, n) => blank.subarray(0, n * 784));
  await write('train-labels-idx1-ubyte.gz', [count], (start, n) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) % 10)));
}

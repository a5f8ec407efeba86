import turbo from '@julusian/jpeg-turbo';
import * as E from 'fp-ts/lib/Either.js';
import { resizeBytes } from '../core/image.js';
import { unlistedFormatReason } from '../core/format.js';
import { isJpeg, jpegDimensions, jpegOrientation, jpegScanCount } from '../core/jpeg.js';
import { DECODE_TIMEOUT_SECONDS, DEFAULT_MAX_JPEG_SCANS, DEFAULT_MAX_PIXELS, pixelLimitReason } from '../core/limits.js';
import { dataError, type DataError } from '../core/types.js';
import { readRegular, readRegularSync } from '../sources/files.js';
import { errorMessage } from '../core/idioms.js';

// Outcomes: a file that cannot be decoded is an expected failure, a value (fp-ts Either of a
// DataError, tagged with the file and the cause), not an exception: it crosses the decode worker's
// postMessage as a plain object and normalizeResize's onError 'skip' filters on it. fp-ts stays for
// this one boundary (decodeImage is public API in mixstream/decode); elsewhere expected failures
// are tagged unions ({ kind: ... }) or InputError.

/**
 * Largest encoded file read for an image within `maxPixels`: 8 bytes a pixel (16-bit RGBA, stored
 * uncompressed) and 16 MiB of metadata. A file over it cannot be a valid image within the limit,
 * and is refused before it is read into memory.
 */
export const maxEncodedBytes = (maxPixels: number): number => 8 * maxPixels + 16 * 2 ** 20;

/** Decoded pixels, HWC uint8 RGB. */
interface Raw {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * A reusable output buffer for one thread's decodes (a worker decodes one image at a time):
 * without it every JPEG leaves a full-size RGB buffer behind for the garbage collector.
 */
export interface Scratch {
  buffer: Buffer;
}

const plainJpeg = (bytes: Uint8Array): Buffer | undefined =>
  isJpeg(bytes) && jpegOrientation(bytes) === 1 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;

const RGB = { format: turbo.FORMAT_RGB };

/** libjpeg-turbo on the libuv pool: about 3x sharp's decode here; undefined when it cannot. */
async function decodeJpeg(jpeg: Buffer): Promise<Raw | undefined> {
  // On failure (CMYK, damage) sharp decides, and names the reason.
  return turbo.decompress(jpeg, RGB).catch(() => undefined);
}

/** The same, synchronously into `scratch` (grown as needed): for a worker thread. */
function decodeJpegInto(jpeg: Buffer, scratch: Scratch): Raw | undefined {
  for (;;) {
    try {
      return turbo.decompressSync(jpeg, scratch.buffer, RGB);
    } catch (error) {
      if (!(error instanceof Error && /insufficient/i.test(error.message)) || scratch.buffer.length >= 1 << 28) return undefined;
      scratch.buffer = Buffer.allocUnsafe(scratch.buffer.length * 2);
    }
  }
}

/** Thrown for an image whose header declares more pixels than allowed: its message is the reason. */
class PixelLimit extends Error {}

async function decodeAny(bytes: Uint8Array, maxPixels: number): Promise<Raw> {
  // Loaded on first use: plain JPEGs never need libvips (about 18 MB per process).
  const { default: sharp } = await import('sharp');
  // The header first (libvips reads no pixels for it), so the refusal can name the declared size;
  // limitInputPixels then holds for the decode itself (an animated GIF's pages, for one).
  const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  const tooBig = pixelLimitReason(meta.width ?? 0, meta.pageHeight ?? meta.height ?? 0, maxPixels);
  if (tooBig) throw new PixelLimit(tooBig);
  const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels })
    .timeout({ seconds: DECODE_TIMEOUT_SECONDS })
    .autoOrient()
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

/**
 * Decodes any of JPEG/PNG/WebP/GIF/TIFF (told by content, whatever the name; anything else is
 * refused) to RGB bytes with EXIF orientation applied, resized to HxW
 * with tf.image.resize's bilinear maths in 8 bits (see resizeBytes). Plain JPEGs (no EXIF rotation)
 * go through libjpeg-turbo; everything else through sharp (libvips). Never throws: a file that
 * cannot be read or decoded is a Left naming it and the reason.
 */
export async function decodeImage(
  input: string | Uint8Array,
  origin: string,
  height: number,
  width: number,
  scratch?: Scratch,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<E.Either<DataError, Uint8Array>> {
  try {
    // A worker (with its scratch buffer) reads synchronously: four thread-pool round trips (open,
    // stat, read, close) cost more than the read itself, and the worker has nothing else to do.
    // Either way a FIFO, socket or device is refused, not waited on, and so is an oversized file.
    const limit = maxEncodedBytes(maxPixels);
    const bytes =
      typeof input === 'string' ? (scratch ? readRegularSync('decode', input, limit) : await readRegular('decode', input, limit)) : input;
    // Content decides, not the name: only the listed formats reach a decoder (libvips would load
    // an SVG or a PDF saved as .png, and those can take minutes and gigabytes from a few bytes).
    const unlisted = unlistedFormatReason(bytes);
    if (unlisted) return E.left(dataError(origin, unlisted));
    if (isJpeg(bytes)) {
      // libjpeg-turbo sizes its buffers from the SOF header before it reads any scan: check it first.
      const dims = jpegDimensions(bytes);
      const tooBig = dims && pixelLimitReason(dims.width, dims.height, maxPixels);
      if (tooBig) return E.left(dataError(origin, tooBig));
      // And it passes over the whole image once per scan: count them before decoding.
      const scans = jpegScanCount(bytes, DEFAULT_MAX_JPEG_SCANS + 1);
      if (scans > DEFAULT_MAX_JPEG_SCANS)
        return E.left(dataError(origin, `holds more than ${DEFAULT_MAX_JPEG_SCANS} scans (a progressive JPEG scan bomb); not decoded`));
    }
    const jpeg = plainJpeg(bytes);
    // With a scratch buffer, decode and resize run with no await between them: nothing else can
    // write the buffer meanwhile.
    const fast = jpeg && (scratch ? decodeJpegInto(jpeg, scratch) : await decodeJpeg(jpeg));
    const raw = fast ?? (await decodeAny(bytes, maxPixels));
    return E.right(resizeBytes(raw.data, raw.height, raw.width, 3, height, width));
  } catch (error) {
    // A SourceError's message repeats the path: its DataError has the reason alone.
    const reason = (error as { dataError?: DataError }).dataError?.reason;
    const message = errorMessage(error);
    const timedOut = /timeout/i.test(message)
      ? `took over ${DECODE_TIMEOUT_SECONDS} s to decode (the limit per image); stopped`
      : undefined;
    return E.left(dataError(origin, reason ?? timedOut ?? message));
  }
}

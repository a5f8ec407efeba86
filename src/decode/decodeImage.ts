import { readFile } from 'node:fs/promises';
import turbo from '@julusian/jpeg-turbo';
import * as E from 'fp-ts/lib/Either.js';
import sharp from 'sharp';
import { resizeBilinear } from '../core/image.js';
import { isJpeg, jpegOrientation } from '../core/jpeg.js';
import { dataError, type DataError } from '../core/types.js';

/** Decoded pixels, HWC uint8 RGB. */
interface Raw {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** libjpeg-turbo straight from the bytes: about 3x sharp's decode here; undefined when it cannot. */
async function decodeJpegFast(bytes: Uint8Array): Promise<Raw | undefined> {
  if (!isJpeg(bytes) || jpegOrientation(bytes) !== 1) return undefined;
  try {
    return await turbo.decompress(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { format: turbo.FORMAT_RGB });
  } catch {
    return undefined; // CMYK, progressive oddities, damage: sharp decides, and names the reason
  }
}

async function decodeAny(bytes: Uint8Array): Promise<Raw> {
  const { data, info } = await sharp(bytes).autoOrient().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height };
}

/**
 * Decodes any of JPEG/PNG/WebP/GIF/TIFF to RGB with EXIF orientation applied, then resizes to
 * HxW with tf.image.resize's bilinear maths and scales to [0, 1]. Plain JPEGs (no EXIF rotation)
 * go through libjpeg-turbo; everything else through sharp (libvips). Never throws: a file that
 * cannot be read or decoded is a Left naming it and the reason.
 */
export async function decodeImage(input: string | Uint8Array, origin: string, height: number, width: number): Promise<E.Either<DataError, Float32Array>> {
  try {
    const bytes = typeof input === 'string' ? await readFile(input) : input;
    const raw = (await decodeJpegFast(bytes)) ?? (await decodeAny(bytes));
    return E.right(resizeBilinear(raw.data, raw.height, raw.width, 3, height, width));
  } catch (error) {
    return E.left(dataError(origin, error instanceof Error ? error.message : String(error)));
  }
}

/**
 * The limits every reader checks before it allocates, so that what a file declares (an image's
 * size, a record's length, a gzip's inflated size) cannot make memory or disk use grow past a
 * bound the user can read off. Defaults are sized for the machines this runs on (24 GB, 2 cores).
 */

/** Largest image a decoder accepts, in pixels (width x height as the header declares it): 40 megapixels. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Largest TFRecord record read, in bytes: 64 MiB (an encoded image; a 40-megapixel JPEG is far below). */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 2 ** 20;

/** Largest inflated size of a gzipped IDX file, in bytes: 4 GiB (MNIST's largest is 47 MB). */
export const DEFAULT_MAX_INFLATED_BYTES = 4 * 2 ** 30;

/** Most inflated bytes of a gzipped IDX file held at once (a window of a shuffled epoch): 256 MiB. */
export const DEFAULT_MAX_HELD_INFLATED_BYTES = 256 * 2 ** 20;

/**
 * Deflate cannot shrink data by more than about 1032:1 (a 258-byte match in one or two bits), so
 * a gzip declaring more than this many bytes per byte of its own is refused before inflating.
 */
export const DEFLATE_MAX_RATIO = 1032;

/** Checks a declared image size against `maxPixels`; the reason when it is over (or not a size). */
export function pixelLimitReason(width: number, height: number, maxPixels: number): string | undefined {
  if (!(Number.isSafeInteger(width) && Number.isSafeInteger(height) && width > 0 && height > 0))
    return `declares an image of ${width}x${height} pixels`;
  if (width * height > maxPixels)
    return `declares an image of ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels} (maxPixels, --max-pixels)`;
  return undefined;
}

/**
 * Most scans a JPEG may hold: libjpeg-turbo passes over the whole image once per scan, so a small
 * progressive file of 50,000 empty scans took 67 s. Real progressive JPEGs have about 10 (mozjpeg's
 * optimised scripts a few dozen); libjpeg-turbo's own advice for untrusted input is a limit of 500.
 */
export const DEFAULT_MAX_JPEG_SCANS = 500;

/**
 * Most seconds libvips may spend on one image (sharp's `timeout`): an image within the pixel
 * limit decodes in well under a second; this stops whatever a loader can still be made to do.
 */
export const DECODE_TIMEOUT_SECONDS = 5;

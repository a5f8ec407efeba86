/**
 * Which image format bytes hold, from their first bytes (magic numbers), whatever the file is
 * called: only the formats mixstream lists are handed to a decoder. libvips would otherwise pick
 * a loader by content too, and some (SVG through librsvg, PDF, HEIF) can be made to take minutes
 * and gigabytes from a few hundred bytes.
 */

/** The formats the decoders accept. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff';

/** How the accepted formats are named in messages. */
export const LISTED_FORMATS = 'JPEG, PNG, WebP, GIF or TIFF';

const startsWith = (bytes: Uint8Array, at: number, ...expected: number[]): boolean =>
  bytes.length >= at + expected.length && expected.every((b, i) => bytes[at + i] === b);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The listed format `bytes` start with, or undefined. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, 0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (startsWith(bytes, 0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (startsWith(bytes, 0, ...ascii('RIFF')) && startsWith(bytes, 8, ...ascii('WEBP'))) return 'webp';
  if (startsWith(bytes, 0, ...ascii('GIF87a')) || startsWith(bytes, 0, ...ascii('GIF89a'))) return 'gif';
  // Classic TIFF and BigTIFF, either byte order.
  if (startsWith(bytes, 0, 0x49, 0x49, 0x2a, 0x00) || startsWith(bytes, 0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (startsWith(bytes, 0, 0x49, 0x49, 0x2b, 0x00) || startsWith(bytes, 0, 0x4d, 0x4d, 0x00, 0x2b)) return 'tiff';
  return undefined;
}

/** What unlisted bytes look like, for the message: 'SVG', 'PDF', ... or undefined when unknown. */
export function guessOtherFormat(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1')
    .decode(bytes.subarray(0, 512))
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<') && head.includes('<svg'))) return 'SVG';
  if (head.startsWith('<')) return 'XML or HTML';
  if (head.startsWith('%pdf')) return 'PDF';
  if (head.startsWith('%!')) return 'PostScript';
  if (startsWith(bytes, 4, ...ascii('ftyp'))) return 'HEIF/AVIF or another ISO media file';
  if (startsWith(bytes, 0, ...ascii('BM'))) return 'BMP';
  if (startsWith(bytes, 0, 0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50) || startsWith(bytes, 0, 0xff, 0x4f, 0xff, 0x51)) return 'JPEG 2000';
  if (startsWith(bytes, 0, 0xff, 0x0a) || startsWith(bytes, 0, 0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c)) return 'JPEG XL';
  if (startsWith(bytes, 0, ...ascii('SIMPLE  ='))) return 'FITS';
  if (startsWith(bytes, 0, 0x1f, 0x8b)) return 'gzip';
  if (startsWith(bytes, 0, ...ascii('PK'))) return 'ZIP';
  return undefined;
}

/** Why `bytes` are not decoded, or undefined when they are a listed format. */
export function unlistedFormatReason(bytes: Uint8Array): string | undefined {
  if (sniffImageFormat(bytes) !== undefined) return undefined;
  if (bytes.length === 0) return 'is empty, not an image';
  const looks = guessOtherFormat(bytes);
  return `is not a ${LISTED_FORMATS} image${looks ? ` (its content is ${looks})` : ' (its first bytes match none of them)'}; not decoded`;
}

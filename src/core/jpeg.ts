/** Just enough JPEG parsing to choose a decoder and bound its memory: the SOI marker, the frame size and the EXIF orientation. */

/** True when the bytes start with a JPEG SOI marker (FF D8 FF). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * The EXIF orientation (1..8) of a JPEG, 1 when it has none or the EXIF block cannot be read.
 * Walks the marker segments up to the first scan; reads tag 0x0112 of IFD0 in either byte order.
 */
export function jpegOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return 1;
    const marker = bytes[p + 1] as number;
    if (marker === 0xda || marker === 0xd9) return 1; // start of scan or end: no EXIF before pixels
    const length = view.getUint16(p + 2);
    const start = p + 4;
    if (
      marker === 0xe1 &&
      length >= 16 &&
      start + 14 <= bytes.length &&
      view.getUint32(start) === 0x45786966 &&
      view.getUint16(start + 4) === 0
    ) {
      const tiff = start + 6;
      const little = view.getUint16(tiff) === 0x4949;
      const u16 = (at: number): number => view.getUint16(at, little);
      const ifd = tiff + view.getUint32(tiff + 4, little);
      if (ifd + 2 > bytes.length) return 1;
      const entries = u16(ifd);
      for (let i = 0; i < entries; i++) {
        const entry = ifd + 2 + i * 12;
        if (entry + 12 > bytes.length) return 1;
        if (u16(entry) === 0x0112) {
          const value = u16(entry + 8);
          return value >= 1 && value <= 8 ? value : 1;
        }
      }
      return 1;
    }
    p = start + length - 2;
  }
  return 1;
}

/**
 * The frame size a JPEG's SOF header declares (any SOFn: baseline, progressive, lossless,
 * arithmetic), read before decoding so a decoder's buffer is never sized from an unchecked header;
 * undefined when no SOF comes before the first scan or the end of the bytes.
 */
export function jpegDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return undefined;
    const marker = bytes[p + 1] as number;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = ((bytes[p + 2] as number) << 8) | (bytes[p + 3] as number);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (p + 9 > bytes.length) return undefined;
      const height = ((bytes[p + 5] as number) << 8) | (bytes[p + 6] as number);
      const width = ((bytes[p + 7] as number) << 8) | (bytes[p + 8] as number);
      return { width, height };
    }
    if (length < 2) return undefined;
    p += 2 + length;
  }
  return undefined;
}

/**
 * How many scans (SOS markers) a JPEG holds, counting no further than `stop`. Walks the marker
 * segments by their lengths and the entropy-coded data between them (where a marker is FF
 * followed by anything but 00, a restart marker or fill), so bytes inside metadata or pixel data
 * are never taken for a marker. libjpeg-turbo makes one pass over the image per scan: a
 * progressive file of thousands of empty scans costs minutes while its size stays small.
 */
export function jpegScanCount(bytes: Uint8Array, stop = Number.POSITIVE_INFINITY): number {
  let scans = 0;
  let p = 2;
  const n = bytes.length;
  while (p + 1 < n && scans < stop) {
    if (bytes[p] !== 0xff) {
      const next = bytes.indexOf(0xff, p); // entropy-coded data, up to the next marker
      if (next < 0) break;
      p = next;
      continue;
    }
    const marker = bytes[p + 1] as number;
    if (marker === 0x00 || marker === 0xff || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += marker === 0xff ? 1 : 2; // stuffed byte, fill, restart marker, TEM: no segment
      continue;
    }
    if (marker === 0xd9) break; // end of image
    if (p + 4 > n) break;
    const length = ((bytes[p + 2] as number) << 8) | (bytes[p + 3] as number);
    if (marker === 0xda) scans++;
    if (length < 2) break;
    p += 2 + length; // the segment; entropy-coded data follows an SOS
  }
  return scans;
}

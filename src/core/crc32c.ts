/**
 * CRC-32C (Castagnoli, polynomial 0x82F63B78 reflected), the checksum of TFRecord framing, and
 * TensorFlow's masking of it. Pure functions over bytes; slice-by-8 tables, built once on first use,
 * or the CPU's crc32 instruction through the native addon where it has one.
 */
import { accelerator } from './native.js';

let tables: Int32Array | undefined;
const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let s = 1; s < 8; s++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[s * 256 + n] = c;
    }
  }
  return t;
}

/**
 * The CRC-32C of `bytes[start, end)`, as an unsigned 32-bit integer. `crc` continues a previous
 * checksum (the value returned for the bytes before); default 0 starts a new one.
 *
 * @example crc32c(new TextEncoder().encode('123456789')) === 0xe3069283
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  const hardware = accelerator.addon?.crc32c;
  if (hardware) return hardware(bytes, start, end, crc >>> 0);
  const t = (tables ??= buildTables());
  let c = ~crc;
  let i = start;
  // Byte at a time up to a 4-byte boundary, then 8 bytes a step read as two little-endian words
  // (through a Uint32Array view when the host is little-endian), then the tail byte at a time.
  const t0 = t.subarray(0, 256),
    t1 = t.subarray(256, 512),
    t2 = t.subarray(512, 768),
    t3 = t.subarray(768, 1024);
  const t4 = t.subarray(1024, 1280),
    t5 = t.subarray(1280, 1536),
    t6 = t.subarray(1536, 1792),
    t7 = t.subarray(1792, 2048);
  while (i < end && ((bytes.byteOffset + i) & 3) !== 0) c = (t0[(c ^ (bytes[i++] as number)) & 0xff] as number) ^ (c >>> 8);
  const words = end - i >= 8 ? Math.floor((end - i) / 8) * 2 : 0;
  if (words > 0) {
    if (littleEndian) {
      const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
      for (let k = 0; k < words; k += 2) {
        const a = c ^ (w[k] as number);
        const b = w[k + 1] as number;
        c =
          (t7[a & 0xff] as number) ^
          (t6[(a >>> 8) & 0xff] as number) ^
          (t5[(a >>> 16) & 0xff] as number) ^
          (t4[a >>> 24] as number) ^
          (t3[b & 0xff] as number) ^
          (t2[(b >>> 8) & 0xff] as number) ^
          (t1[(b >>> 16) & 0xff] as number) ^
          (t0[b >>> 24] as number);
      }
      i += words * 4;
    } else {
      for (const stop = i + words * 4; i < stop; i += 8) {
        const a =
          c ^
          ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
        const b =
          (bytes[i + 4] as number) | ((bytes[i + 5] as number) << 8) | ((bytes[i + 6] as number) << 16) | ((bytes[i + 7] as number) << 24);
        c =
          (t7[a & 0xff] as number) ^
          (t6[(a >>> 8) & 0xff] as number) ^
          (t5[(a >>> 16) & 0xff] as number) ^
          (t4[a >>> 24] as number) ^
          (t3[b & 0xff] as number) ^
          (t2[(b >>> 8) & 0xff] as number) ^
          (t1[(b >>> 16) & 0xff] as number) ^
          (t0[b >>> 24] as number);
      }
    }
  }
  while (i < end) c = (t0[(c ^ (bytes[i++] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** TensorFlow's masked CRC: `((crc >>> 15) | (crc << 17)) + 0xa282ead8`, modulo 2^32. */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** The inverse of `maskCrc32c`. */
export function unmaskCrc32c(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

/** The masked CRC-32C of `bytes[start, end)`: what a TFRecord stores after the length and the data. */
export function maskedCrc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return maskCrc32c(crc32c(bytes, start, end));
}

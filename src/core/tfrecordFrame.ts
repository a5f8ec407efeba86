import { maskedCrc32c } from './crc32c.js';

/**
 * TFRecord framing, as TensorFlow writes it (tensorflow/core/lib/io/record_writer.cc):
 *
 *   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
 *
 * Pure functions over bytes.
 */

/** Bytes before a record's data: the length and its CRC. */
export const TFRECORD_HEADER_BYTES = 12;
/** Bytes after a record's data: its CRC. */
export const TFRECORD_FOOTER_BYTES = 4;

/** One record framed: header, `data`, footer. */
export function encodeTfrecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(TFRECORD_HEADER_BYTES + data.length + TFRECORD_FOOTER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length >>> 0, true);
  view.setUint32(4, Math.floor(data.length / 4294967296), true);
  view.setUint32(8, maskedCrc32c(out, 0, 8), true);
  out.set(data, TFRECORD_HEADER_BYTES);
  view.setUint32(TFRECORD_HEADER_BYTES + data.length, maskedCrc32c(data), true);
  return out;
}

/** The result of reading a record header: its data length, or why the header is bad. */
export type HeaderResult = { readonly ok: true; readonly length: number } | { readonly ok: false; readonly reason: string };

/** Reads and checks the 12-byte header at `bytes[at]` (the caller ensures 12 bytes are there). */
export function readTfrecordHeader(bytes: Uint8Array, at: number): HeaderResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, TFRECORD_HEADER_BYTES);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const stored = view.getUint32(8, true);
  const actual = maskedCrc32c(bytes, at, at + 8);
  if (stored !== actual)
    return { ok: false, reason: `length CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})` };
  if (hi > 0x1fffff) return { ok: false, reason: `record length ${hi}*2^32+${lo} is beyond 2^53` };
  return { ok: true, length: hi * 4294967296 + lo };
}

/** Checks the data CRC stored in the 4 bytes at `bytes[end]` against `bytes[start, end)`; the reason when it differs. */
export function checkTfrecordData(bytes: Uint8Array, start: number, end: number): string | undefined {
  const stored = new DataView(bytes.buffer, bytes.byteOffset + end, 4).getUint32(0, true);
  const actual = maskedCrc32c(bytes, start, end);
  return stored === actual ? undefined : `data CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`;
}

/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian magic
 * number 0x0000TTNN (TT the element type, 0x08 for unsigned bytes; NN the number of dimensions),
 * then NN big-endian uint32 dimension sizes, then the elements. Pure functions over bytes.
 */

/** Magic number of an IDX file of unsigned bytes with 3 dimensions (images: count, rows, columns). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned bytes with 1 dimension (labels: count). */
export const IDX_LABELS_MAGIC = 0x00000801;

export interface IdxHeader {
  readonly magic: number;
  /** Element type code: 0x08 unsigned byte, 0x09 signed byte, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64. */
  readonly type: number;
  readonly dims: readonly number[];
  /** Bytes before the elements: 4 + 4 * dims.length. */
  readonly headerBytes: number;
}

/** Bytes one element of IDX type `type` takes, or undefined for an unknown type. */
export function idxElementBytes(type: number): number | undefined {
  return ({ 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 } as Record<number, number>)[type];
}

/** Reads an IDX header from the start of `bytes`; a string says why it is not one. */
export function parseIdxHeader(bytes: Uint8Array): IdxHeader | string {
  if (bytes.length < 4) return `too short for an IDX magic number (${bytes.length} bytes)`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    return `bad IDX magic number 0x${magic.toString(16).padStart(8, '0')} (the first two bytes must be 0)`;
  const type = bytes[2] as number;
  const n = bytes[3] as number;
  if (idxElementBytes(type) === undefined)
    return `unknown IDX element type 0x${type.toString(16)} in magic number 0x${magic.toString(16).padStart(8, '0')}`;
  const headerBytes = 4 + 4 * n;
  if (bytes.length < headerBytes) return `header declares ${n} dimensions but the file has only ${bytes.length} bytes`;
  const dims: number[] = [];
  for (let i = 0; i < n; i++) dims.push(view.getUint32(4 + 4 * i, false));
  return { magic, type, dims, headerBytes };
}

/** The IDX header bytes for unsigned-byte data of shape `dims` (for tests and writers). */
export function encodeIdxHeader(dims: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return out;
}

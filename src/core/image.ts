/** Pure per-image maths over HWC float32 and byte arrays (in C where the native addon is built). */
import { accelerator } from './native.js';

/**
 * A float32 array whose memory is not zeroed first: for outputs written in full straight away
 * (a batch, a mixed batch). Zeroing 9.6 MB costs about as much as copying it.
 */
export const uninitializedFloats = (length: number): Float32Array => new Float32Array(Buffer.allocUnsafeSlow(length * 4).buffer, 0, length);

/** A geometric-and-photometric change of one image, applied in a single pass. */
export interface Transform {
  readonly flipH?: boolean;
  readonly flipV?: boolean;
  /** Added to every value (tf.image.adjust_brightness). */
  readonly delta?: number;
  /** Clip to [0, 1] after the delta. */
  readonly clip?: boolean;
}

/**
 * Writes `src` (HWC) mirrored and brightened as `t` says into `dst`, in one pass over memory.
 * `dst` may alias `src` only when there is no flip. Byte images take flips only (no delta, no clip).
 */
export function transformImage<A extends Float32Array | Uint8Array>(
  src: A,
  dst: A,
  height: number,
  width: number,
  channels: number,
  t: Transform,
): A {
  const delta = t.delta ?? 0;
  // A pure flip copies values as they are (-0 and NaN included): no arithmetic on them.
  const plain = delta === 0 && !t.clip;
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const from = (t.flipV ? height - 1 - y : y) * row;
    const to = y * row;
    if (!t.flipH) {
      if (plain) dst.set(src.subarray(from, from + row), to);
      else if (t.clip) for (let i = 0; i < row; i++) dst[to + i] = Math.min(1, Math.max(0, (src[from + i] as number) + delta));
      else for (let i = 0; i < row; i++) dst[to + i] = (src[from + i] as number) + delta;
      continue;
    }
    if (channels === 3 && !plain && !t.clip) {
      // The reference chain's case (flip + brightness on RGB) unrolled: about twice as fast.
      for (let x = 0, s = from + (width - 1) * 3, d = to; x < width; x++, s -= 3, d += 3) {
        dst[d] = (src[s] as number) + delta;
        dst[d + 1] = (src[s + 1] as number) + delta;
        dst[d + 2] = (src[s + 2] as number) + delta;
      }
      continue;
    }
    for (let x = 0; x < width; x++) {
      const s = from + (width - 1 - x) * channels;
      const d = to + x * channels;
      for (let c = 0; c < channels; c++) {
        const v = src[s + c] as number;
        dst[d + c] = plain ? v : t.clip ? Math.min(1, Math.max(0, v + delta)) : v + delta;
      }
    }
  }
  return dst;
}

/** Writes the left-right mirror of `src` (HWC) into `dst`; `dst` may not alias `src`. */
export const flipHorizontal = (src: Float32Array, dst: Float32Array, height: number, width: number, channels: number): Float32Array =>
  transformImage(src, dst, height, width, channels, { flipH: true });

/** Writes the top-bottom mirror of `src` (HWC) into `dst`; `dst` may not alias `src`. */
export const flipVertical = (src: Float32Array, dst: Float32Array, height: number, width: number, channels: number): Float32Array =>
  transformImage(src, dst, height, width, channels, { flipV: true });

/**
 * Adds `delta` to every value, in place: tf.image.adjust_brightness. With `clip`, values are kept
 * in [0, 1] afterwards (tf.image.random_brightness itself does not clip).
 */
export const addBrightness = (data: Float32Array, delta: number, clip: boolean): Float32Array =>
  transformImage(data, data, 1, data.length, 1, { delta, clip });

/** For one axis: the two source taps and the weight of the second, per output position. */
interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w: Float32Array;
}

/** Half-pixel-centre bilinear taps (tf.image.resize's default, antialias off). */
function taps(inSize: number, outSize: number): Taps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const f = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
    const lo = Math.floor(f);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inSize - 1);
    w[o] = f - lo;
  }
  return { i0, i1, w };
}

/** The 256 values k / 255 as float32: exact and cheaper than dividing. */
const UNIT = Float32Array.from({ length: 256 }, (_, k) => k / 255);

/**
 * Bilinear resize with half-pixel centres (tf.image.resize's default, antialias off), stretching
 * to the new size as tf.image.resize does. HWC float32 in and out.
 */
export function resizeBilinear(
  src: Float32Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  const out = new Float32Array(outHeight * outWidth * channels);
  if (outHeight === height && outWidth === width) {
    out.set(src);
    return out;
  }
  const ys = taps(height, outHeight);
  const xs = taps(width, outWidth);
  const row = width * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const r0 = (ys.i0[y] as number) * row;
    const r1 = (ys.i1[y] as number) * row;
    const wy = ys.w[y] as number;
    for (let x = 0; x < outWidth; x++) {
      const c0 = (xs.i0[x] as number) * channels;
      const c1 = (xs.i1[x] as number) * channels;
      const wx = xs.w[x] as number;
      for (let k = 0; k < channels; k++) {
        const a = src[r0 + c0 + k] as number;
        const b = src[r0 + c1 + k] as number;
        const c = src[r1 + c0 + k] as number;
        const d = src[r1 + c1 + k] as number;
        const top = a + (b - a) * wx;
        out[o++] = top + (c + (d - c) * wx - top) * wy;
      }
    }
  }
  return out;
}

/**
 * resizeBilinear's maths on a byte image, rounded back to bytes as PIL and libvips do: what the
 * decoder uses. Separable: each source row it needs is interpolated across once (and reused by the
 * next output row when it needs it too), then rows are blended; the same float64 arithmetic as
 * the direct form, so the same values, at about twice its speed.
 */
export function resizeBytes(
  src: Uint8Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  // A copy, never a view: src may be a Buffer (whose slice() shares memory) that is reused.
  if (outHeight === height && outWidth === width) return new Uint8Array(src);
  const out = new Uint8Array(outHeight * outWidth * channels);
  if (accelerator.addon) {
    accelerator.addon.resize(src, height, width, channels, outHeight, outWidth, out);
    return out;
  }
  const ys = taps(height, outHeight);
  const xs = taps(width, outWidth);
  const span = outWidth * channels;
  const row = width * channels;
  // The horizontal taps spelled out per output value, so the pass over a row is one flat loop.
  const at0 = new Int32Array(span);
  const at1 = new Int32Array(span);
  const wxs = new Float64Array(span);
  for (let x = 0, o = 0; x < outWidth; x++) {
    for (let k = 0; k < channels; k++, o++) {
      at0[o] = (xs.i0[x] as number) * channels + k;
      at1[o] = (xs.i1[x] as number) * channels + k;
      wxs[o] = xs.w[x] as number;
    }
  }
  let upper = new Float64Array(span);
  let lower = new Float64Array(span);
  let upperRow = -1;
  let lowerRow = -1;
  for (let y = 0, o = 0; y < outHeight; y++) {
    const r0 = ys.i0[y] as number;
    const r1 = ys.i1[y] as number;
    if (r0 !== upperRow) {
      if (r0 === lowerRow) {
        const reuse = lower;
        lower = upper;
        upper = reuse;
        upperRow = lowerRow;
        lowerRow = -1;
      } else {
        const base = r0 * row;
        for (let i = 0; i < span; i++) {
          const a = src[base + (at0[i] as number)] as number;
          upper[i] = a + ((src[base + (at1[i] as number)] as number) - a) * (wxs[i] as number);
        }
        upperRow = r0;
      }
    }
    if (r1 !== lowerRow) {
      const base = r1 * row;
      for (let i = 0; i < span; i++) {
        const a = src[base + (at0[i] as number)] as number;
        lower[i] = a + ((src[base + (at1[i] as number)] as number) - a) * (wxs[i] as number);
      }
      lowerRow = r1;
    }
    const wy = ys.w[y] as number;
    for (let i = 0; i < span; i++, o++) {
      const top = upper[i] as number;
      // Values are in [0, 255]: adding 0.5 and truncating is Math.round.
      out[o] = (top + ((lower[i] as number) - top) * wy + 0.5) | 0;
    }
  }
  return out;
}

/**
 * Converts an HWC image to 3 channels: grayscale is repeated, gray+alpha and RGBA lose their alpha.
 * Three channels are returned as they are.
 */
export function toRgb(src: Float32Array, pixels: number, channels: number): Float32Array {
  if (channels === 3) return src;
  if (channels < 1 || channels > 4) throw new RangeError(`toRgb: cannot convert ${channels} channels to RGB`);
  const out = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const s = p * channels;
    const o = p * 3;
    if (channels <= 2) {
      const v = src[s] as number;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    } else {
      out[o] = src[s] as number;
      out[o + 1] = src[s + 1] as number;
      out[o + 2] = src[s + 2] as number;
    }
  }
  return out;
}

/** The byte image with the same values, when every value is exactly k / 255; else undefined. */
export function exactBytes(image: Float32Array): Uint8Array | undefined {
  const u8 = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) {
    const k = Math.round((image[i] as number) * 255);
    if (!(k >= 0 && k <= 255) || UNIT[k] !== image[i]) return undefined;
    u8[i] = k;
  }
  return u8;
}

/** An image as bytes for storage: its exact byte image (a quarter of the size), else its float32 bytes. */
export function packUnit(image: Float32Array): { dtype: 'u8' | 'f32'; data: Uint8Array } {
  const u8 = exactBytes(image);
  return u8 ? { dtype: 'u8', data: u8 } : { dtype: 'f32', data: new Uint8Array(image.slice().buffer) };
}

/**
 * A sample's image and the changes still to be applied to it when its float32 values are written
 * (`ImageSample` is one): byte images carry augment's brightness (`delta`, `clip`) and flips.
 */
export interface PendingValues {
  readonly image: Float32Array | Uint8Array;
  /** Byte images only: added to every value / 255. */
  readonly delta?: number;
  /** Byte images only: clip to [0, 1] after the delta. */
  readonly clip?: boolean;
  /** Mirror left-right (top-bottom) as the values are written. */
  readonly flipH?: boolean;
  readonly flipV?: boolean;
  /** The image's shape: needed with a flip. */
  readonly height?: number;
  readonly width?: number;
  readonly channels?: number;
}

/**
 * Writes a sample's float32 values into `dst` at `offset`, in one pass: float32 images as they
 * are, byte images as byte / 255 + delta (clipped to [0, 1] with `clip`); mirrored if flipped.
 */
export function writeValues(sample: PendingValues, dst: Float32Array, offset: number): void {
  const { image, delta = 0, clip = false, flipH = false, flipV = false } = sample;
  const flipped = flipH || flipV;
  const [height, width, channels] = flipped ? [sample.height, sample.width, sample.channels] : [1, image.length, 1];
  if (height === undefined || width === undefined || channels === undefined || height * width * channels !== image.length) {
    throw new RangeError(`writeValues: a flipped image needs its height, width and channels (${image.length} values)`);
  }
  if (image instanceof Float32Array) {
    const to = dst.subarray(offset, offset + image.length);
    if (flipped) transformImage(image, to, height, width, channels, { flipH, flipV });
    else to.set(image);
    return;
  }
  // 256 possible inputs: compute each output once (the same float32 it would be value by value),
  // then the pass is a table lookup.
  let table = UNIT;
  if (delta !== 0 || clip) {
    table = new Float32Array(256);
    for (let k = 0; k < 256; k++) {
      const v = (UNIT[k] as number) + delta;
      table[k] = clip ? Math.min(1, Math.max(0, v)) : v;
    }
  }
  if (accelerator.addon) return accelerator.addon.lookup(image, table, dst, offset, height, width, channels, flipH ? 1 : 0, flipV ? 1 : 0);
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const from = (flipV ? height - 1 - y : y) * row;
    const to = offset + y * row;
    if (!flipH) {
      for (let i = 0; i < row; i++) dst[to + i] = table[image[from + i] as number] as number;
      continue;
    }
    for (let x = 0; x < width; x++) {
      const s = from + (width - 1 - x) * channels;
      const d = to + x * channels;
      for (let k = 0; k < channels; k++) dst[d + k] = table[image[s + k] as number] as number;
    }
  }
}

/** The float32 values of a sample's image (a new array for byte images and flipped ones; the image itself otherwise). */
export function valuesOf(sample: PendingValues): Float32Array {
  if (sample.image instanceof Float32Array && !sample.flipH && !sample.flipV) return sample.image;
  const out = new Float32Array(sample.image.length);
  writeValues(sample, out, 0);
  return out;
}

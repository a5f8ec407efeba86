/** Pure per-image maths over HWC float32 arrays. */

/** Writes the left-right mirror of `src` (HWC) into `dst`; `dst` may not alias `src`. */
export function flipHorizontal(src: Float32Array, dst: Float32Array, height: number, width: number, channels: number): Float32Array {
  const row = width * channels;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    for (let x = 0; x < width; x++) {
      const from = base + x * channels;
      const to = base + (width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) dst[to + c] = src[from + c] as number;
    }
  }
  return dst;
}

/** Writes the top-bottom mirror of `src` (HWC) into `dst`. */
export function flipVertical(src: Float32Array, dst: Float32Array, height: number, width: number, channels: number): Float32Array {
  const row = width * channels;
  for (let y = 0; y < height; y++) dst.set(src.subarray(y * row, (y + 1) * row), (height - 1 - y) * row);
  return dst;
}

/**
 * Adds `delta` to every value, in place: tf.image.adjust_brightness. With `clip`, values are kept
 * in [0, 1] afterwards (tf.image.random_brightness itself does not clip).
 */
export function addBrightness(data: Float32Array, delta: number, clip: boolean): Float32Array {
  if (clip) for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, (data[i] as number) + delta));
  else for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + delta;
  return data;
}

/**
 * Bilinear resize of an HWC image with half-pixel centres (tf.image.resize's default, antialias
 * off), stretching to the new size as tf.image.resize does.
 */
export function resizeBilinear(src: Float32Array, height: number, width: number, channels: number, outHeight: number, outWidth: number): Float32Array {
  const out = new Float32Array(outHeight * outWidth * channels);
  if (outHeight === height && outWidth === width) {
    out.set(src);
    return out;
  }
  const sy = height / outHeight;
  const sx = width / outWidth;
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    for (let x = 0; x < outWidth; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      const o = (y * outWidth + x) * channels;
      const a = (y0 * width + x0) * channels;
      const b = (y0 * width + x1) * channels;
      const c = (y1 * width + x0) * channels;
      const d = (y1 * width + x1) * channels;
      for (let k = 0; k < channels; k++) {
        const top = (src[a + k] as number) + ((src[b + k] as number) - (src[a + k] as number)) * wx;
        const bottom = (src[c + k] as number) + ((src[d + k] as number) - (src[c + k] as number)) * wx;
        out[o + k] = top + (bottom - top) * wy;
      }
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

/** uint8 -> float32 in [0, 1]. */
export function toUnitFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] as number) / 255;
  return out;
}

/**
 * Helpers shared by the wasm training kernels: attribute narrowing, the forward pass's geometry,
 * pad-or-crop, and replacing one of wasm's own kernels. The kernels are written with tf ops so every step runs on whatever backend is
 * active (wasm, when tfjs dispatches to them), never by copying data to the cpu backend.
 */
import tf from '#tfjs';

/** The padding forms tfjs convolutions accept, as they arrive in kernel attributes. */
export type ConvPad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
/** The rounding modes tfjs applies to numeric padding. */
export type RoundingMode = 'floor' | 'round' | 'ceil';

/**
 * A kernel input as a Tensor we may feed to tf ops. The engine hands kernels the Tensor objects
 * themselves; a bare TensorInfo (a backend calling us directly) is wrapped, and must be released.
 */
export function asTensor(info: tf.TensorInfo | undefined, name: string, kernel: string): { t: tf.Tensor; owned: boolean } {
  if (info === undefined) throw new Error(`${kernel}: missing input '${name}'`);
  if (info instanceof tf.Tensor) return { t: info, owned: false };
  return { t: tf.engine().makeTensorFromTensorInfo(info), owned: true };
}

/** Runs a kernel body on Tensor inputs, releasing any wrappers `asTensor` had to make. */
export function withInputs(
  kernel: string,
  inputs: tf.NamedTensorInfoMap,
  names: readonly string[],
  body: (ts: tf.Tensor[]) => tf.Tensor,
): tf.Tensor {
  const wrapped = names.map((n) => asTensor(inputs[n], n, kernel));
  try {
    return tf.tidy(() => body(wrapped.map((w) => w.t)));
  } finally {
    for (const w of wrapped) if (w.owned) w.t.dispose();
  }
}

/** A [h, w] pair from a number-or-pair attribute, so kernels read strides and dilations one way. */
export function pair(v: unknown, fallback: number, what: string): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  throw new Error(`${what}: expected a number or a pair, got ${JSON.stringify(v)}`);
}

/** A 4-tuple shape attribute (filterShape, inputShape), checked rather than cast. */
export function shape4(v: unknown, what: string): [number, number, number, number] {
  if (Array.isArray(v) && v.length === 4 && v.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0)) {
    return [v[0] as number, v[1] as number, v[2] as number, v[3] as number];
  }
  throw new Error(`${what}: expected a shape of 4 positive integers, got ${JSON.stringify(v)}`);
}

/** The pad attribute, checked, so computeConv2DInfo gets a form it knows. */
export function convPad(v: unknown, what: string): ConvPad {
  if (v === 'same' || v === 'valid' || typeof v === 'number') return v;
  if (Array.isArray(v) && v.length === 4) return v as tf.backend_util.ExplicitPadding;
  throw new Error(`${what}: unsupported pad ${JSON.stringify(v)}`);
}

/** The optional rounding mode attribute; anything else is ignored as tfjs itself does. */
export function roundingMode(v: unknown): RoundingMode | undefined {
  return v === 'floor' || v === 'round' || v === 'ceil' ? v : undefined;
}

/**
 * Pads (positive counts) or crops (negative counts) one axis, so the gradient kernels can line
 * the data up with a plain 'valid' convolution whatever padding the forward pass used.
 */
export function padOrCrop(t: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  if (before === 0 && after === 0) return t;
  const padding: Array<[number, number]> = t.shape.map(() => [0, 0]);
  padding[axis] = [Math.max(0, before), Math.max(0, after)];
  const padded = before > 0 || after > 0 ? tf.pad(t, padding) : t;
  if (before >= 0 && after >= 0) return padded;
  const begin = padded.shape.map(() => 0);
  const size = padded.shape.map(() => -1);
  begin[axis] = Math.max(0, -before);
  size[axis] = (padded.shape[axis] as number) - Math.max(0, -before) - Math.max(0, -after);
  if ((size[axis] as number) <= 0) throw new Error(`padOrCrop: cropping leaves nothing on axis ${axis}`);
  return tf.slice(padded, begin, size);
}

/**
 * Spreads rows and columns of an NHWC tensor `stride` apart with zeros between (the transpose of
 * a strided read), by pad-and-reshape so it stays on the backend. Output is [b, oh*sh, ow*sw, c];
 * the trailing sh-1 rows and sw-1 columns are zeros.
 */
export function dilateSpatial(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [b, h, w, c] = t.shape;
  const spread = tf.pad(tf.reshape(t, [b, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(spread, [b, h * sh, w * sw, c]);
}

/**
 * Lines the forward input x [b, h, w, c] up with the output grid: pads (or crops) so that a
 * 'valid' window of (out-1)*stride + (filter-1)*dilation + 1 rows starts at row 0.
 */
export function alignInput(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { padInfo, outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info;
  const [, h, w] = x.shape;
  const rows = (outHeight - 1) * strideHeight + (filterHeight - 1) * dilationHeight + 1;
  const cols = (outWidth - 1) * strideWidth + (filterWidth - 1) * dilationWidth + 1;
  const byRows = padOrCrop(x, 1, padInfo.top, rows - padInfo.top - h);
  return padOrCrop(byRows, 2, padInfo.left, cols - padInfo.left - w) as tf.Tensor4D;
}

/** Throws, naming the kernel, when dy is not the shape of the forward output [b, outHeight, outWidth, channels]. */
export function checkDy(kernel: string, dy: tf.Tensor4D, expected: readonly [number, number, number, number]): void {
  if (!expected.every((d, i) => dy.shape[i] === d)) {
    throw new Error(`${kernel}: dy shape ${dy.shape} does not match the forward output [${expected.join(',')}]`);
  }
}

const MARK = Symbol.for('mixstream.wasm-override');
type Marked = tf.KernelFunc & { [MARK]?: true };

/** Whether wasm's `kernelName` is currently one of our replacements. */
export function isOverridden(kernelName: string): boolean {
  return (tf.getKernel(kernelName, 'wasm')?.kernelFunc as Marked | undefined)?.[MARK] === true;
}

/**
 * Replaces wasm's kernel `kernelName` with make(original), once (a marker makes it idempotent).
 * Returns whether it replaced it this call.
 */
export function override(kernelName: string, make: (original: tf.KernelConfig) => tf.KernelFunc): boolean {
  const original = tf.getKernel(kernelName, 'wasm');
  if (original === undefined || (original.kernelFunc as Marked)[MARK]) return false;
  const kernelFunc = make(original) as Marked;
  kernelFunc[MARK] = true;
  tf.unregisterKernel(kernelName, 'wasm');
  // Keep the original's setup/dispose: the delegated cases call into its cwrapped wasm function.
  tf.registerKernel({ ...original, kernelFunc });
  return true;
}

/**
 * Faster replacements for two kernels tfjs-backend-wasm 4.22 does have but runs as naive C++
 * loops, which dominate a training step once the missing kernels exist: Conv2DBackpropInput
 * (every conv's input gradient; ~8x slower than XNNPACK Conv2D) and Tile (batch norm's gradient
 * tiles per-channel vectors to the full activation; ~40x slower than a broadcast multiply).
 * Where the native addon carries conv kernels, Conv2DBackpropInput runs there instead (nativeConv.ts).
 * Each replacement keeps the original's setup/dispose and hands any case it does not cover
 * (NCHW, non-float dtypes, ranks XNNPACK cannot broadcast) back to the original kernel.
 */
import tf from '#tfjs';
import { bytes, asWasm } from './heap.js';
import { nativeConvBackpropInput } from './nativeConv.js';
import { convPad, dilateSpatial, override, padOrCrop, pair, roundingMode, shape4, withInputs } from './shared.js';

/** Input gradient of an NHWC conv2d as a stride-1 XNNPACK conv of the spread, padded dy with the flipped filter. */
export function conv2dBackpropInputNHWC(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: [number, number],
  pad: Parameters<typeof tf.backend_util.computeConv2DInfo>[4],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [, h, w] = inputShape;
    const [fh, fw] = filter.shape;
    const spread = dilateSpatial(dy, info.strideHeight, info.strideWidth);
    const top = fh - 1 - info.padInfo.top;
    const left = fw - 1 - info.padInfo.left;
    const rows = padOrCrop(spread, 1, top, h + fh - 1 - top - (spread.shape[1] as number));
    const full = padOrCrop(rows, 2, left, w + fw - 1 - left - (spread.shape[2] as number)) as tf.Tensor4D;
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [fh, fw, co, ci]
    return tf.conv2d(full, flipped, 1, 'valid');
  });
}

/**
 * Tile that only repeats x whole (every repeated axis comes before every axis where x is longer
 * than 1: the broadcast of a per-channel vector over N, H, W), as byte copies on the wasm heap
 * that double the filled prefix each time. Exact for every dtype; null when the shape is another.
 */
export function tileLeading(backendLike: unknown, x: tf.TensorInfo, reps: readonly number[]): tf.TensorInfo | null {
  const backend = asWasm(backendLike);
  if (backend === null || reps.length !== x.shape.length) return null;
  const firstData = x.shape.findIndex((d) => d > 1);
  if (firstData !== -1 && reps.some((r, i) => r > 1 && i >= firstData)) return null;
  const out = backend.makeOutput(
    x.shape.map((d, i) => d * (reps[i] as number)),
    x.dtype,
  );
  const src = bytes(backend, x);
  const dst = bytes(backend, out);
  if (src.length === 0 || dst.length === 0) return out;
  dst.set(src, 0);
  for (let filled = src.length; filled < dst.length; filled *= 2) dst.copyWithin(filled, 0, Math.min(filled, dst.length - filled));
  return out;
}

/**
 * Tile as one broadcasting multiply by ones: x viewed with a size-1 axis beside each repeated
 * axis, times ones shaped [r0, 1, r1, 1, ...], reshaped. Adjacent axes of one kind are merged
 * so the broadcast stays within XNNPACK's rank limit; returns null when it cannot.
 */
export function tileByBroadcast(x: tf.Tensor, reps: readonly number[]): tf.Tensor | null {
  const axes: Array<{ size: number; onX: boolean }> = [];
  const push = (size: number, onX: boolean) => {
    if (size === 1) return;
    const last = axes[axes.length - 1];
    if (last !== undefined && last.onX === onX) last.size *= size;
    else axes.push({ size, onX });
  };
  x.shape.forEach((d, i) => {
    push(reps[i] ?? 1, false);
    push(d, true);
  });
  if (axes.length > 6) return null;
  const outShape = x.shape.map((d, i) => d * (reps[i] ?? 1));
  if (axes.every((a) => a.onX)) return tf.reshape(tf.clone(x), outShape);
  return tf.tidy(() => {
    const xv = tf.reshape(
      x,
      axes.map((a) => (a.onX ? a.size : 1)),
    );
    const ones = tf.ones(axes.map((a) => (a.onX ? 1 : a.size)));
    return tf.reshape(tf.mul(xv, ones), outShape);
  });
}

/**
 * Swaps in the faster Conv2DBackpropInput and Tile on 'wasm' (originals kept for the cases they
 * do not cover). Idempotent; returns the names replaced this call.
 */
export function registerWasmFastOverrides(): string[] {
  const done: string[] = [];
  const conv = override('Conv2DBackpropInput', (original) => (args) => {
    const attrs = args.attrs ?? {};
    if (attrs['dataFormat'] === 'NCHW') return original.kernelFunc(args);
    const { dy, filter } = args.inputs;
    if (dy !== undefined && filter !== undefined) {
      const shape = shape4(attrs['inputShape'], 'Conv2DBackpropInput');
      const info = tf.backend_util.computeConv2DInfo(
        shape,
        filter.shape as [number, number, number, number],
        pair(attrs['strides'], 1, 'Conv2DBackpropInput'),
        1,
        convPad(attrs['pad'], 'Conv2DBackpropInput'),
        roundingMode(attrs['dimRoundingMode']),
        false,
        'channelsLast',
      );
      const native = nativeConvBackpropInput(args.backend, dy, filter, info);
      if (native !== null) return native;
    }
    return withInputs('Conv2DBackpropInput', args.inputs, ['dy', 'filter'], ([dy, filter]) =>
      conv2dBackpropInputNHWC(
        shape4(attrs['inputShape'], 'Conv2DBackpropInput'),
        dy as tf.Tensor4D,
        filter as tf.Tensor4D,
        pair(attrs['strides'], 1, 'Conv2DBackpropInput'),
        convPad(attrs['pad'], 'Conv2DBackpropInput'),
        roundingMode(attrs['dimRoundingMode']),
      ),
    );
  });
  if (conv) done.push('Conv2DBackpropInput');
  const tile = override('Tile', (original) => (args) => {
    const x = args.inputs['x'];
    const reps = args.attrs?.['reps'];
    if (x === undefined || x.dtype === 'string' || !Array.isArray(reps)) return original.kernelFunc(args);
    const leading = tileLeading(args.backend, x, reps as number[]);
    if (leading !== null) return leading;
    if (!(x instanceof tf.Tensor) || x.dtype !== 'float32') return original.kernelFunc(args);
    return tileByBroadcast(x, reps as number[]) ?? original.kernelFunc(args);
  });
  if (tile) done.push('Tile');
  return done;
}

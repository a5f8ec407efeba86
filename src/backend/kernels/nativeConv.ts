/**
 * Conv2D, FusedConv2D (bias, linear or relu) and both conv gradients for 'wasm', run by the native
 * addon (native/conv.c) in place on the wasm heap: the addon reads the inputs and writes the
 * output through Float32Array views of the backend's WebAssembly.Memory, so nothing is copied.
 * XNNPACK on wasm is 128-bit SIMD without FMA and one thread; the addon's AVX2+FMA GEMM was most
 * of the gain on a ResNet-8 step (see bench/train.ts). Each function returns null for a case it
 * does not cover (no addon, NCHW, non-float32, another activation) so the caller falls back.
 */
import tf from '#tfjs';
import { accelerator } from '../../core/native.js';
import { asWasm, view } from './heap.js';
import { convPad, override, pair, roundingMode } from './shared.js';

function geometry(info: tf.backend_util.Conv2DInfo): Int32Array {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, outChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  return Int32Array.of(
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    filterHeight,
    filterWidth,
    outChannels,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    dilationHeight,
    dilationWidth,
    padInfo.top,
    padInfo.left,
  );
}

const floats = (...ts: Array<tf.TensorInfo | undefined>): boolean => ts.every((t) => t === undefined || t.dtype === 'float32');

/** Whether the addon carries the conv kernels (built, not turned off, and new enough). */
export function nativeConvAvailable(): boolean {
  const a = accelerator.addon;
  return a?.convForward !== undefined && a.convBackpropFilter !== undefined && a.convBackpropInput !== undefined;
}

/** The forward conv (plus optional rank-1 bias and relu) on the heap, or null when not covered. */
export function nativeConvForward(
  backendLike: unknown,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  bias?: tf.TensorInfo,
  relu = false,
): tf.TensorInfo | null {
  const run = accelerator.addon?.convForward;
  const backend = asWasm(backendLike);
  if (run === undefined || backend === null || !floats(x, filter, bias) || info.dataFormat !== 'channelsLast') return null;
  if (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)) return null;
  const out = backend.makeOutput(info.outShape, 'float32');
  run.call(
    accelerator.addon,
    geometry(info),
    view(backend, x),
    view(backend, filter),
    bias ? view(backend, bias) : null,
    relu ? 1 : 0,
    view(backend, out),
  );
  return out;
}

/** dW of an NHWC conv on the heap, or null when not covered. */
export function nativeConvBackpropFilter(
  backendLike: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const run = accelerator.addon?.convBackpropFilter;
  const backend = asWasm(backendLike);
  if (run === undefined || backend === null || !floats(x, dy) || info.dataFormat !== 'channelsLast') return null;
  const out = backend.makeOutput(info.filterShape, 'float32');
  run.call(accelerator.addon, geometry(info), view(backend, x), view(backend, dy), view(backend, out));
  return out;
}

/** dx of an NHWC conv on the heap, or null when not covered. */
export function nativeConvBackpropInput(
  backendLike: unknown,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const run = accelerator.addon?.convBackpropInput;
  const backend = asWasm(backendLike);
  if (run === undefined || backend === null || !floats(dy, filter) || info.dataFormat !== 'channelsLast') return null;
  const out = backend.makeOutput(info.inShape, 'float32');
  run.call(accelerator.addon, geometry(info), view(backend, dy), view(backend, filter), view(backend, out));
  return out;
}

/**
 * Routes wasm's Conv2D and FusedConv2D (bias + linear or relu, NHWC) to the addon when it is there
 * at call time, to the originals otherwise. Idempotent; returns the names replaced this call.
 */
export function registerNativeConvOverrides(): string[] {
  const done: string[] = [];
  const attrsInfo = (x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo | null => {
    if (attrs['dataFormat'] === 'NCHW' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
    return tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      pair(attrs['strides'], 1, 'Conv2D'),
      pair(attrs['dilations'], 1, 'Conv2D'),
      convPad(attrs['pad'], 'Conv2D'),
      roundingMode(attrs['dimRoundingMode']),
      false,
      'channelsLast',
    );
  };
  if (
    override('Conv2D', (original) => (args) => {
      const { x, filter } = args.inputs;
      const info = x && filter && nativeConvAvailable() ? attrsInfo(x, filter, args.attrs ?? {}) : null;
      return (info && x && filter && nativeConvForward(args.backend, x, filter, info)) || original.kernelFunc(args);
    })
  )
    done.push('Conv2D');
  if (
    override('FusedConv2D', (original) => (args) => {
      const { x, filter, bias, preluActivationWeights } = args.inputs;
      const activation = args.attrs?.['activation'] ?? 'linear';
      const covered = preluActivationWeights === undefined && (activation === 'linear' || activation === 'relu');
      const info = covered && x && filter && nativeConvAvailable() ? attrsInfo(x, filter, args.attrs ?? {}) : null;
      return (
        (info && x && filter && nativeConvForward(args.backend, x, filter, info, bias, activation === 'relu')) || original.kernelFunc(args)
      );
    })
  )
    done.push('FusedConv2D');
  return done;
}

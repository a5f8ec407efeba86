/**
 * DepthwiseConv2dNative and both its gradients on 'wasm' through the native addon
 * (native/depthwise.c), in place on the heap, threaded over output rows (images for the filter
 * gradient); and the gradients of Relu and ClipByValue (Keras's ReLU(6.) is relu then clip) as one
 * native mask kernel each instead of tfjs's four to five full-size kernels. At 224 px the
 * depthwise convs and the ReLU6 gradients were ~75% of a MobileNetV2 step on wasm. Anything not
 * covered (NCHW, non-float32, no addon) runs the original kernel or gradient.
 */
import tf from '#tfjs';
import { accelerator } from '../../core/native.js';
import { asWasm, view } from './heap.js';
import { convPad, override, pair, roundingMode, shape4 } from './shared.js';

const MASK_GRAD = 'MixstreamGradMask';
const MARK = Symbol.for('mixstream.mask-gradient');

function geometry(info: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
}

function dwInfo(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap, what: string): tf.backend_util.Conv2DInfo | null {
  if (attrs['dataFormat'] === 'NCHW' || xShape.length !== 4 || filterShape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    pair(attrs['strides'], 1, what),
    pair(attrs['dilations'], 1, what),
    convPad(attrs['pad'], what),
    roundingMode(attrs['dimRoundingMode']),
    true,
    'channelsLast',
  );
  return info.filterHeight <= 64 && info.filterWidth <= 64 && info.outHeight > 0 && info.outWidth > 0 ? info : null;
}

/** Whether the addon carries the depthwise kernels. */
export function nativeDepthwiseAvailable(): boolean {
  const a = accelerator.addon;
  return a?.dwForward !== undefined && a.dwBackpropInput !== undefined && a.dwBackpropFilter !== undefined;
}

/** The depthwise filter gradient on the heap, or null when not covered. */
export function nativeDepthwiseBackpropFilter(
  backendLike: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo | null {
  const run = accelerator.addon?.dwBackpropFilter;
  const backend = asWasm(backendLike);
  if (run === undefined || backend === null || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const filterShape = shape4(attrs['filterShape'], 'DepthwiseConv2dNativeBackpropFilter');
  const info = dwInfo(x.shape, filterShape, attrs, 'DepthwiseConv2dNativeBackpropFilter');
  if (info === null || !tf.util.arraysEqual(dy.shape, info.outShape)) return null;
  const out = backend.makeOutput(filterShape, 'float32');
  run.call(accelerator.addon, geometry(info), view(backend, x), view(backend, dy), view(backend, out));
  return out;
}

/** The depthwise input gradient on the heap, or null when not covered. */
export function nativeDepthwiseBackpropInput(
  backendLike: unknown,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo | null {
  const run = accelerator.addon?.dwBackpropInput;
  const backend = asWasm(backendLike);
  if (run === undefined || backend === null || dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const inputShape = shape4(attrs['inputShape'], 'DepthwiseConv2dNativeBackpropInput');
  const info = dwInfo(inputShape, filter.shape, attrs, 'DepthwiseConv2dNativeBackpropInput');
  if (info === null || !tf.util.arraysEqual(dy.shape, info.outShape)) return null;
  const out = backend.makeOutput(inputShape, 'float32');
  run.call(accelerator.addon, geometry(info), view(backend, dy), view(backend, filter), view(backend, out));
  return out;
}

function registerForward(): boolean {
  return override('DepthwiseConv2dNative', (original) => (args) => {
    const { x, filter } = args.inputs;
    const run = accelerator.addon?.dwForward;
    const backend = asWasm(args.backend);
    if (
      run === undefined ||
      backend === null ||
      x === undefined ||
      filter === undefined ||
      x.dtype !== 'float32' ||
      filter.dtype !== 'float32'
    )
      return original.kernelFunc(args);
    const info = dwInfo(x.shape, filter.shape, args.attrs ?? {}, 'DepthwiseConv2dNative');
    if (info === null) return original.kernelFunc(args);
    const out = backend.makeOutput(info.outShape, 'float32');
    run.call(accelerator.addon, geometry(info), view(backend, x), view(backend, filter), view(backend, out));
    return out;
  });
}

/** Relu and ClipByValue forward, threaded on the addon (float32 only). */
function registerActivation(kernelName: 'Relu' | 'ClipByValue'): boolean {
  return override(kernelName, (original) => (args) => {
    const { x } = args.inputs;
    const run = accelerator.addon?.actForward;
    const backend = asWasm(args.backend);
    if (run === undefined || backend === null || x === undefined || x.dtype !== 'float32') return original.kernelFunc(args);
    const out = backend.makeOutput(x.shape, 'float32');
    const relu = kernelName === 'Relu';
    run.call(
      accelerator.addon,
      view(backend, x),
      view(backend, out),
      relu ? 0 : Number(args.attrs?.['clipValueMin']),
      relu ? 0 : Number(args.attrs?.['clipValueMax']),
      relu ? 1 : 0,
    );
    return out;
  });
}

function registerMaskKernel(): boolean {
  if (tf.getKernel(MASK_GRAD, 'wasm') !== undefined) return false;
  tf.registerKernel({
    kernelName: MASK_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend: b }) => {
      const { x, dy } = inputs;
      const backend = asWasm(b);
      const run = accelerator.addon?.gradMask;
      if (run === undefined || backend === null || x === undefined || dy === undefined)
        throw new Error(`${MASK_GRAD}: needs the native addon and the wasm backend`);
      const out = backend.makeOutput(x.shape, 'float32');
      run.call(
        accelerator.addon,
        view(backend, x),
        view(backend, dy),
        view(backend, out),
        Number(attrs?.['lo'] ?? 0),
        Number(attrs?.['hi'] ?? 0),
        attrs?.['relu'] ? 1 : 0,
      );
      return out;
    },
  });
  return true;
}

/** Relu's and ClipByValue's gradients as one native mask kernel on wasm (tfjs's own elsewhere). */
function maskGradient(kernelName: 'Relu' | 'ClipByValue'): boolean {
  const original = tf.getGradient(kernelName) as (tf.GradConfig & { [MARK]?: true }) | undefined;
  if (original === undefined || original[MARK]) return false;
  const config: tf.GradConfig & { [MARK]?: true } = {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (
        tf.getBackend() !== 'wasm' ||
        accelerator.addon?.gradMask === undefined ||
        x === undefined ||
        Array.isArray(dy) ||
        x.dtype !== 'float32' ||
        dy.dtype !== 'float32'
      )
        return original.gradFunc(dy, saved, attrs);
      const relu = kernelName === 'Relu';
      const kernelAttrs = relu
        ? { relu: true, lo: 0, hi: 0 }
        : { relu: false, lo: Number(attrs['clipValueMin']), hi: Number(attrs['clipValueMax']) };
      return { x: () => tf.engine().runKernel(MASK_GRAD, { x, dy }, kernelAttrs) as tf.Tensor };
    },
  };
  config[MARK] = true;
  tf.registerGradient(config);
  return true;
}

/**
 * Registers the native forward (DepthwiseConv2dNative), the mask kernel and the Relu / ClipByValue
 * gradients. The depthwise gradients' kernels (depthwiseBackpropFilter.ts, depthwiseBackpropInput.ts)
 * try the native ones first. Idempotent; returns the names registered or replaced this call.
 */
export function registerNativeDepthwise(): string[] {
  const done: string[] = [];
  if (registerForward()) done.push('DepthwiseConv2dNative');
  for (const k of ['Relu', 'ClipByValue'] as const) if (registerActivation(k)) done.push(k);
  if (registerMaskKernel()) done.push(MASK_GRAD);
  for (const k of ['Relu', 'ClipByValue'] as const) if (maskGradient(k)) done.push(`${k} gradient`);
  return done;
}

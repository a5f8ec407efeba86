/**
 * Batch norm on 'wasm' through the native addon (native/batchnorm.c), in place on the heap: the
 * forward FusedBatchNorm, and its whole gradient as one kernel (MixstreamBatchNormGrad) where tfjs
 * runs some fifteen full-size element-wise kernels and reductions per layer and step. Covers a
 * rank-1 mean, variance, scale and offset over x's last axis (what tf.layers.batchNormalization
 * gives); anything else, other backends, or no addon: tfjs's own kernel and gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { accelerator } from '../../core/native.js';
import { asWasm, view, type WasmHeapBackend } from './heap.js';
import { override } from './shared.js';

/** The name of the registered gradient kernel (inputs x, dy, mean, variance, scale?; five outputs). */
export const BATCH_NORM_GRAD = 'MixstreamBatchNormGrad';
const MARK = Symbol.for('mixstream.batchnorm-gradient');

/** [rows, c] when x is float32 and every per-channel input is a float32 vector of x's last axis. */
function channels(x: tf.TensorInfo | undefined, perChannel: Array<tf.TensorInfo | undefined>): [number, number] | null {
  if (x === undefined || x.dtype !== 'float32' || x.shape.length < 1) return null;
  const c = x.shape[x.shape.length - 1] as number;
  const ok = perChannel.every((t) => t === undefined || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === c));
  return ok && c > 0 ? [tf.util.sizeFromShape(x.shape) / c, c] : null;
}

const orNull = (backend: WasmHeapBackend, t: tf.TensorInfo | undefined): Float32Array | null => (t === undefined ? null : view(backend, t));

function registerForward(): boolean {
  return override('FusedBatchNorm', (original) => (args) => {
    const { x, mean, variance, scale, offset } = args.inputs;
    const run = accelerator.addon?.bnForward;
    const backend = asWasm(args.backend);
    const dims = mean !== undefined && variance !== undefined ? channels(x, [mean, variance, scale, offset]) : null;
    if (
      run === undefined ||
      backend === null ||
      dims === null ||
      x === undefined ||
      mean === undefined ||
      variance === undefined ||
      dims[0] === 0
    )
      return original.kernelFunc(args);
    const out = backend.makeOutput(x.shape, 'float32');
    const eps = Number(args.attrs?.['varianceEpsilon'] ?? 0.001);
    run.call(
      accelerator.addon,
      view(backend, x),
      dims[0],
      dims[1],
      view(backend, mean),
      view(backend, variance),
      orNull(backend, scale),
      orNull(backend, offset),
      eps,
      view(backend, out),
    );
    return out;
  });
}

function registerGradKernel(): boolean {
  if (tf.getKernel(BATCH_NORM_GRAD, 'wasm') !== undefined) return false;
  tf.registerKernel({
    kernelName: BATCH_NORM_GRAD,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, dy, mean, variance, scale } = args.inputs;
      const run = accelerator.addon?.bnBackward;
      const backend = asWasm(args.backend);
      const dims = channels(x, [mean, variance, scale]);
      if (
        run === undefined ||
        backend === null ||
        dims === null ||
        x === undefined ||
        dy === undefined ||
        mean === undefined ||
        variance === undefined
      ) {
        throw new Error(`${BATCH_NORM_GRAD}: needs the native addon, the wasm backend and per-channel float32 inputs`);
      }
      const [rows, c] = dims;
      const outs = [backend.makeOutput(x.shape, 'float32'), ...[0, 1, 2, 3].map(() => backend.makeOutput([c], 'float32'))];
      const [dx, dmean, dvar, dscale, doffset] = outs.map((t) => view(backend, t)) as [
        Float32Array,
        Float32Array,
        Float32Array,
        Float32Array,
        Float32Array,
      ];
      const eps = Number(args.attrs?.['varianceEpsilon'] ?? 0.001);
      run.call(
        accelerator.addon,
        view(backend, x),
        view(backend, dy),
        rows,
        c,
        view(backend, mean),
        view(backend, variance),
        orNull(backend, scale),
        eps,
        dx,
        dmean,
        dvar,
        dscale,
        doffset,
      );
      return outs;
    },
  });
  return true;
}

function registerGradient(): boolean {
  const original = tf.getGradient('FusedBatchNorm') as (tf.GradConfig & { [MARK]?: true }) | undefined;
  if (original === undefined || original[MARK]) return false;
  const config: tf.GradConfig & { [MARK]?: true } = {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      const usable =
        tf.getBackend() === 'wasm' &&
        accelerator.addon?.bnBackward !== undefined &&
        !Array.isArray(dy) &&
        mean !== undefined &&
        variance !== undefined &&
        channels(x, [mean, variance, scale]) !== null;
      if (!usable || x === undefined || Array.isArray(dy)) return original.gradFunc(dy, saved, attrs);
      const inputs: tf.NamedTensorMap = { x, dy, mean: mean as tf.Tensor, variance: variance as tf.Tensor, ...(scale ? { scale } : {}) };
      const [dx, dmean, dvar, dscale, doffset] = tf
        .engine()
        .runKernel(BATCH_NORM_GRAD, inputs, { varianceEpsilon: attrs['varianceEpsilon'] as number }) as tf.Tensor[];
      return {
        x: () => dx as tf.Tensor,
        mean: () => dmean as tf.Tensor,
        variance: () => dvar as tf.Tensor,
        scale: () => dscale as tf.Tensor,
        offset: () => doffset as tf.Tensor,
      };
    },
  };
  config[MARK] = true;
  tf.registerGradient(config);
  return true;
}

/** Registers the forward override, the gradient kernel and the gradient. Idempotent; returns what it registered this call. */
export function registerNativeBatchNorm(): string[] {
  return [
    registerForward() ? 'FusedBatchNorm' : '',
    registerGradKernel() ? BATCH_NORM_GRAD : '',
    registerGradient() ? 'FusedBatchNorm gradient' : '',
  ].filter((s) => s !== '');
}

/**
 * Batch norm on 'wasm' through the native addon (native/batchnorm.c), in place on the heap: the
 * forward FusedBatchNorm, and its whole gradient as one kernel (MixstreamBatchNormGrad) where tfjs
 * runs some fifteen full-size element-wise kernels and reductions per layer and step. Covers a
 * rank-1 mean, variance, scale and offset over x's last axis (what tf.layers.batchNormalization
 * gives); anything else, other backends, or no addon: tfjs's own kernel and gradient.
 */
import tf from '#tfjs';
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

/** Training mode in one kernel: inputs x, scale, offset; attr epsilon; outputs y, the batch's mean and variance. */
export const BATCH_NORM_TRAIN = 'MixstreamBatchNormTrain';
/** Its gradient through the batch statistics: inputs x, dy, mean, variance, scale; outputs dx, dscale, doffset. */
const BATCH_NORM_TRAIN_GRAD = 'MixstreamBatchNormTrainGrad';

const needs = (name: string): Error => new Error(`${name}: needs the native addon, the wasm backend and per-channel float32 inputs`);

function registerTrainKernels(): boolean {
  if (tf.getKernel(BATCH_NORM_TRAIN, 'wasm') !== undefined) return false;
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, scale, offset } = args.inputs;
      const run = accelerator.addon?.bnTrain;
      const backend = asWasm(args.backend);
      const dims = channels(x, [scale, offset]);
      if (run === undefined || backend === null || dims === null || x === undefined) throw needs(BATCH_NORM_TRAIN);
      const [rows, c] = dims;
      const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')];
      const [y, mean, variance] = outs.map((t) => view(backend, t)) as [Float32Array, Float32Array, Float32Array];
      const eps = Number(args.attrs?.['epsilon']);
      run.call(accelerator.addon, view(backend, x), rows, c, orNull(backend, scale), orNull(backend, offset), eps, y, mean, variance);
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_GRAD,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, dy, mean, variance, scale } = args.inputs;
      const run = accelerator.addon?.bnTrainBackward;
      const backend = asWasm(args.backend);
      const dims = channels(x, [mean, variance, scale]);
      if (run === undefined || backend === null || dims === null || x === undefined || dy === undefined || !mean || !variance)
        throw needs(BATCH_NORM_TRAIN_GRAD);
      const [rows, c] = dims;
      const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')];
      const [dx, dscale, doffset] = outs.map((t) => view(backend, t)) as [Float32Array, Float32Array, Float32Array];
      const eps = Number(args.attrs?.['epsilon']);
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
        dscale,
        doffset,
      );
      return outs;
    },
  });
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = Array.isArray(dys) ? (dys[0] as tf.Tensor) : dys;
      const [x, scale, mean, variance] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const [dx, dscale, doffset] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAIN_GRAD, { x, dy, mean, variance, scale }, { epsilon: attrs['epsilon'] as number }) as tf.Tensor[];
      return { x: () => dx as tf.Tensor, scale: () => dscale as tf.Tensor, offset: () => doffset as tf.Tensor };
    },
  });
  return true;
}

/** What the patched call reads of a tf.layers.batchNormalization layer. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: { read(): tf.Tensor } | null;
  beta?: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(v: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(v: tf.Tensor): void };
}
type LayerCall = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * tf.layers.batchNormalization in training on wasm with the addon: the batch statistics, the
 * normalisation and (on the way back) the whole gradient in one native kernel each, instead of
 * tf.moments and its gradient (some twenty full-size kernels a layer, a quarter of ResNet-8's step).
 * The moving averages are updated with tfjs's own formula. Anything else (inference, another axis,
 * no scale or center, another backend, no addon): the layer's own call. The model, its weights and
 * its saved form are unchanged.
 */
function registerTrainingLayer(): boolean {
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as { call: LayerCall; [MARK]?: true };
  if (proto[MARK]) return false;
  const original = proto.call;
  proto.call = function (inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const fusable =
      kwargs['training'] === true &&
      x !== undefined &&
      x.dtype === 'float32' &&
      x.rank >= 2 &&
      (this.axis === -1 || this.axis === x.rank - 1) &&
      this.gamma != null &&
      this.beta != null &&
      tf.getBackend() === 'wasm' &&
      accelerator.addon?.bnTrain !== undefined;
    if (!fusable || x === undefined || !this.gamma || !this.beta) return original.call(this, inputs, kwargs);
    const [gamma, beta] = [this.gamma, this.beta];
    return tf.tidy(() => {
      const [y, mean, variance] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAIN, { x, scale: gamma.read(), offset: beta.read() }, { epsilon: this.epsilon }) as tf.Tensor[];
      for (const [moving, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const)
        tf.tidy(() => {
          const orig = moving.read();
          moving.write(tf.sub(orig, tf.mul(tf.sub(orig, value as tf.Tensor), 1 - this.momentum)));
        });
      return y as tf.Tensor;
    });
  };
  proto[MARK] = true;
  return true;
}

/** Registers the forward override, the gradient kernels, the gradients and the training layer's call. Idempotent; returns what it registered this call. */
export function registerNativeBatchNorm(): string[] {
  return [
    registerForward() ? 'FusedBatchNorm' : '',
    registerGradKernel() ? BATCH_NORM_GRAD : '',
    registerGradient() ? 'FusedBatchNorm gradient' : '',
    registerTrainKernels() ? BATCH_NORM_TRAIN : '',
    registerTrainingLayer() ? 'tf.layers.batchNormalization training' : '',
  ].filter((s) => s !== '');
}

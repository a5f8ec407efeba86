/**
 * Which code runs a training step's heavy kernels on the active backend, for logs, results.json
 * and the bench: on wasm, which kernels mixstream replaced and whether the native addon runs them
 * (and with which vector unit) or they fell back to tfjs-backend-wasm's, and the thread count, so a
 * scheduler running one process per core can see what each run takes.
 */
import tf from '#tfjs';
import { accelerator, nativeStatus } from '../core/native.js';
import { isOverridden } from './kernels/shared.js';
import { kernelThreads } from './threads.js';

/** What backendKernelsInfo reports. */
export interface BackendKernelsInfo {
  /** tf.getBackend(). */
  readonly backend: string;
  /**
   * Kernel name -> what runs it: 'native (avx2+fma)' or 'native' (the addon), 'heap copies',
   * 'shared memory', 'tf ops on wasm', or 'tfjs-backend-wasm' (not replaced, or no addon).
   */
  readonly kernels: Readonly<Record<string, string>>;
  /** Threads one training step's native kernels use (setKernelThreads; XNNPACK's pool is off in Node). */
  readonly threads: number;
  /** Whether the addon loaded, and its path or why not. */
  readonly native: string;
  /** KERNELS_NUMERICS: which rounding the kernels' results carry (see there). */
  readonly numerics: number;
}

/**
 * Bumped whenever a kernel's results change in their last bits (a summation order, a fused step),
 * so that an ablation's config hash changes with them and a store never pairs runs of two
 * versions. 2: the conv filter gradient sums fixed chunks of rows, then adds them in order. 3: those chunks are
 * at least 256 rows; depthwise convs and their gradients, Relu / ClipByValue gradients run natively.
 */
export const KERNELS_NUMERICS = 3;

/** Each kernel mixstream may replace on wasm, and what runs it when the replacement is active (given the addon or not). */
const REPLACED: ReadonlyArray<readonly [string, (native: boolean, simd: string) => string]> = [
  ['Conv2D', (n, s) => (n ? `native (${s})` : 'tfjs-backend-wasm (xnnpack)')],
  ['FusedConv2D', (n, s) => (n ? `native (${s}) for bias + linear/relu` : 'tfjs-backend-wasm (xnnpack)')],
  ['Conv2DBackpropInput', (n, s) => (n ? `native (${s})` : 'tf ops on wasm (xnnpack conv)')],
  ['Sum', (n) => (n ? 'native over leading axes' : 'tfjs-backend-wasm')],
  ['Mean', (n) => (n ? 'native over leading axes' : 'tfjs-backend-wasm')],
  ['Tile', () => 'heap copies (leading repeats), else xnnpack broadcast multiply'],
  ['Identity', () => 'shared memory (no copy)'],
  [
    'FusedBatchNorm',
    (n) => (n ? 'native, gradient in one native kernel; in training, statistics and the gradient through them too' : 'tfjs-backend-wasm'),
  ],
  ['MaxPoolGrad', (n) => (n ? 'native (vectorised)' : 'tfjs-backend-wasm')],
  ['DepthwiseConv2dNative', (n, s) => (n ? `native (${s}), gradients too` : 'tfjs-backend-wasm (xnnpack), gradients as tf ops')],
  ['Relu', (n) => (n ? 'native (threaded), gradient one native mask' : 'tfjs-backend-wasm')],
  ['ClipByValue', (n) => (n ? 'native (threaded), gradient one native mask' : 'tfjs-backend-wasm')],
  ['Slice', () => 'heap copies where the inner axes are whole, else tfjs-backend-wasm'],
  ['BatchMatMul', (n, s) => (n ? `native (${s})` : 'tfjs-backend-wasm (xnnpack)')],
];

/** A snapshot of what runs the heavy kernels now (call after the backend is resolved). */
export function backendKernelsInfo(): BackendKernelsInfo {
  const backend = tf.getBackend() ?? 'none';
  const addon = accelerator.addon;
  const native = nativeStatus.kind === 'native' ? `loaded (${nativeStatus.why})` : `not in use: ${nativeStatus.why}`;
  const kernels: Record<string, string> = {};
  if (backend === 'wasm') {
    const convs = addon?.convForward !== undefined && addon.convBackpropFilter !== undefined && addon.convBackpropInput !== undefined;
    const simd = addon?.convSimd ?? 'plain C';
    for (const [name, what] of REPLACED) {
      const nativeFor =
        name === 'Sum' || name === 'Mean'
          ? addon?.sumRows !== undefined
          : name === 'FusedBatchNorm'
            ? addon?.bnForward !== undefined
            : name === 'MaxPoolGrad'
              ? addon?.maxPoolGrad !== undefined
              : name === 'BatchMatMul'
                ? addon?.batchMatMul !== undefined
                : name === 'DepthwiseConv2dNative'
                  ? addon?.dwForward !== undefined
                  : name === 'Relu' || name === 'ClipByValue'
                    ? addon?.actForward !== undefined
                    : convs;
      kernels[name] = isOverridden(name) ? what(nativeFor, simd) : 'tfjs-backend-wasm';
    }
    // Registered for wasm by us (it has none), not an override.
    kernels['Conv2DBackpropFilter'] =
      tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined
        ? 'missing (cpu fallback)'
        : convs
          ? `native (${simd})`
          : 'tf ops on wasm (xnnpack conv)';
    // fusedAdam's update (our kernel, not an override).
    if (tf.getKernel('MixstreamAdam', 'wasm') !== undefined)
      kernels['MixstreamAdam'] = addon?.adamUpdate !== undefined ? 'native (one pass a variable)' : 'JavaScript over heap views';
  }
  return { backend, kernels, threads: backend === 'wasm' ? kernelThreads() : 1, native, numerics: KERNELS_NUMERICS };
}

/**
 * The three gradient kernels tfjs-backend-wasm 4.22 lacks, registered so tf.layers CNNs
 * (conv, depthwise, separable) train on wasm instead of falling back to the ~100x slower cpu backend.
 */
import tf from '#tfjs';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter.js';
import { depthwiseBackpropFilterConfig } from './depthwiseBackpropFilter.js';
import { depthwiseBackpropInputConfig } from './depthwiseBackpropInput.js';
import { registerFusedAdam } from '../fusedAdam.js';
import { registerNativeBatchNorm } from './batchNorm.js';
import { registerSharedIdentity } from './identity.js';
import { registerNativeMatMul } from './matMul.js';
import { registerNativeMaxPoolGrad } from './maxPoolGrad.js';
import { registerNativeConvOverrides } from './nativeConv.js';
import { registerNativeDepthwise } from './nativeDepthwise.js';
import { registerHeapSlice } from './slice.js';
import { registerGradientRelease } from './gradRelease.js';
import { registerWasmFastOverrides } from './overrides.js';
import { registerReduceGradients } from './reduceGrads.js';
import { registerLeadingReductions } from './reduceLeading.js';

export { conv2dBackpropFilterConfig, conv2dBackpropFilterNHWC } from './conv2dBackpropFilter.js';
export { depthwiseBackpropFilterConfig, depthwiseBackpropFilterNHWC } from './depthwiseBackpropFilter.js';
export { depthwiseBackpropInputConfig, depthwiseBackpropInputNHWC } from './depthwiseBackpropInput.js';
export { nativeConvAvailable, registerNativeConvOverrides } from './nativeConv.js';
export { nativeDepthwiseAvailable, registerNativeDepthwise } from './nativeDepthwise.js';
export { conv2dBackpropInputNHWC, registerWasmFastOverrides, tileByBroadcast, tileLeading } from './overrides.js';
export { registerReduceGradients } from './reduceGrads.js';
export { leadingSplit, registerLeadingReductions } from './reduceLeading.js';
export { registerSharedIdentity } from './identity.js';
export { BATCH_NORM_GRAD, registerNativeBatchNorm } from './batchNorm.js';
export { registerNativeMaxPoolGrad } from './maxPoolGrad.js';
export { registerNativeMatMul } from './matMul.js';

/** Every kernel this module can supply to wasm, in registration order. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

/** Options for registerWasmTrainingKernels. */
export interface WasmKernelOptions {
  /**
   * Also replace wasm's slow Conv2DBackpropInput and Tile (see overrides.ts); default true, since
   * together they were most of a ResNet training step; and route Conv2D / FusedConv2D to the
   * native addon where it is built (nativeConv.ts); leading-axis Sum / Mean natively and their
   * gradients by Tile (reduceLeading.ts, reduceGrads.ts); Identity without a copy (identity.ts);
   * batch norm and its gradient, MaxPoolGrad and BatchMatMul natively (batchNorm.ts, maxPoolGrad.ts,
   * matMul.ts).
   * False leaves wasm's own kernels alone.
   */
  readonly fastOverrides?: boolean;
}

/**
 * Registers the missing kernels for 'wasm', skipping any already there (a later tfjs-backend-wasm
 * may ship its own, which should win), plus the fast overrides unless opted out. Idempotent;
 * returns the names it registered or replaced this call.
 */
export function registerWasmTrainingKernels(options: WasmKernelOptions = {}): string[] {
  const added: string[] =
    options.fastOverrides === false
      ? []
      : [
          ...registerWasmFastOverrides(),
          ...registerNativeConvOverrides(),
          ...registerNativeDepthwise(),
          ...(registerHeapSlice() ? ['Slice'] : []),
          ...registerLeadingReductions(),
          ...registerReduceGradients().map((k) => `${k} gradient`),
          ...(registerSharedIdentity() ? ['Identity'] : []),
          ...registerNativeBatchNorm(),
          ...(registerNativeMaxPoolGrad() ? ['MaxPoolGrad'] : []),
          ...(registerNativeMatMul() ? ['BatchMatMul'] : []),
          ...(registerFusedAdam() ? ['MixstreamAdam'] : []),
        ];
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  // Last, so that it wraps the gradients registered above too.
  if (options.fastOverrides !== false && registerGradientRelease() > 0) added.push('gradient release');
  return added;
}

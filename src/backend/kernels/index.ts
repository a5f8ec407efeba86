/**
 * The three gradient kernels tfjs-backend-wasm 4.22 lacks, registered so tf.layers CNNs
 * (conv, depthwise, separable) train on wasm instead of falling back to the ~100x slower cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter.js';
import { depthwiseBackpropFilterConfig } from './depthwiseBackpropFilter.js';
import { depthwiseBackpropInputConfig } from './depthwiseBackpropInput.js';

export { conv2dBackpropFilterConfig, conv2dBackpropFilterNHWC } from './conv2dBackpropFilter.js';
export { depthwiseBackpropFilterConfig, depthwiseBackpropFilterNHWC } from './depthwiseBackpropFilter.js';
export { depthwiseBackpropInputConfig, depthwiseBackpropInputNHWC } from './depthwiseBackpropInput.js';

/** Every kernel this module can supply to wasm, in registration order. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [conv2dBackpropFilterConfig, depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig];

/**
 * Registers the missing kernels for 'wasm', skipping any already there (a later tfjs-backend-wasm
 * may ship its own, which should win). Idempotent; returns the names it registered this call.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}

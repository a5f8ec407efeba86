/** Training backends: which tfjs backend to run on, and the kernels that make wasm train CNNs. */
export { AUTO_ORDER, BACKEND_CHOICES, BACKEND_ENV, parseBackendChoice, resolveBackend } from './resolve.js';
export type { BackendChoice, BackendName, ResolveOptions, ResolvedBackend } from './resolve.js';
export {
  conv2dBackpropFilterConfig,
  conv2dBackpropFilterNHWC,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropFilterNHWC,
  depthwiseBackpropInputConfig,
  depthwiseBackpropInputNHWC,
  registerWasmTrainingKernels,
  wasmTrainingKernels,
} from './kernels/index.js';

/** Training backends: which tfjs backend to run on, and the kernels that make wasm train CNNs. */
export { backendKernelsInfo } from './kernelsInfo.js';
export { kernelThreads, setKernelThreads } from './threads.js';
export { FUSED_ADAM, fusedAdam, FusedAdamOptimizer, registerFusedAdam } from './fusedAdam.js';
export type { BackendKernelsInfo } from './kernelsInfo.js';
export { AUTO_ORDER, BACKEND_CHOICES, BACKEND_ENV, parseBackendChoice, resolveBackend } from './resolve.js';
export type { BackendChoice, BackendName, ResolveOptions, ResolvedBackend } from './resolve.js';
export {
  applyGpuAdapterFlag,
  DEFAULT_GPU_ADAPTER,
  describeAdapter,
  GPU_ADAPTER_ENV,
  isSoftwareAdapter,
  parseGpuAdapter,
} from './webgpu/adapter.js';
export type { GpuAdapterRequest, GpuAdapterSummary } from './webgpu/adapter.js';
export { GpuDeviceLostError, releaseWebGpu, setupWebGpu, webGpuAdapter, WEBGPU_INSTALL, WEBGPU_PACKAGES } from './webgpu/setup.js';
export type { WebGpuPackages } from './webgpu/setup.js';
export {
  BATCH_NORM_GRAD,
  conv2dBackpropFilterConfig,
  conv2dBackpropFilterNHWC,
  conv2dBackpropInputNHWC,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropFilterNHWC,
  depthwiseBackpropInputConfig,
  depthwiseBackpropInputNHWC,
  leadingSplit,
  nativeConvAvailable,
  registerNativeConvOverrides,
  registerWasmFastOverrides,
  registerLeadingReductions,
  registerNativeBatchNorm,
  registerNativeMatMul,
  registerNativeMaxPoolGrad,
  registerReduceGradients,
  registerSharedIdentity,
  registerWasmTrainingKernels,
  tileByBroadcast,
  tileLeading,
  wasmTrainingKernels,
} from './kernels/index.js';
export type { WasmKernelOptions } from './kernels/index.js';

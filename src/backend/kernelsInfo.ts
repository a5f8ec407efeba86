/**
 * Which code runs a training step's heavy kernels on the active backend, for logs, results.json
 * and the bench: on wasm, whether the native addon's conv kernels are in use (and with which
 * vector unit) or XNNPACK's, and the thread count, so a scheduler running one process per core
 * can see what each run takes.
 */
import * as tf from '@tensorflow/tfjs';
import { accelerator, nativeStatus } from '../core/native.js';
import { nativeConvAvailable } from './kernels/nativeConv.js';

/** What backendKernelsInfo reports. */
export interface BackendKernelsInfo {
  /** tf.getBackend(). */
  readonly backend: string;
  /** Kernel name -> what runs it: 'native (avx2+fma)', 'native (none)' (plain C), 'xnnpack', 'tf ops on wasm', 'tfjs'. */
  readonly kernels: Readonly<Record<string, string>>;
  /** Threads one training step uses (1: neither XNNPACK's pool nor the addon start threads in Node). */
  readonly threads: number;
  /** Whether the addon loaded, and its path or why not. */
  readonly native: string;
}

const CONV_KERNELS = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const;

/** A snapshot of what runs the conv kernels now (call after the backend is resolved). */
export function backendKernelsInfo(): BackendKernelsInfo {
  const backend = tf.getBackend() ?? 'none';
  const native = nativeStatus.kind === 'native' ? `loaded (${nativeStatus.why})` : `not in use: ${nativeStatus.why}`;
  const kernels: Record<string, string> = {};
  if (backend === 'wasm') {
    const viaNative = nativeConvAvailable() && tf.getKernel('Conv2D', 'wasm') !== undefined;
    const fallback: Record<(typeof CONV_KERNELS)[number], string> = {
      Conv2D: 'xnnpack',
      FusedConv2D: 'xnnpack',
      Conv2DBackpropFilter: 'tf ops on wasm (xnnpack conv)',
      Conv2DBackpropInput: 'tf ops on wasm (xnnpack conv)',
    };
    for (const k of CONV_KERNELS) kernels[k] = viaNative ? `native (${accelerator.addon?.convSimd ?? 'none'})` : fallback[k];
  } else for (const k of CONV_KERNELS) kernels[k] = backend;
  return { backend, kernels, threads: 1, native };
}

/**
 * Threads of the native conv and matmul kernels. One training run alone takes every core, as
 * PyTorch does; an ablation running one process per core (--jobs) gives each run 1. Results are
 * the same bit for bit whatever the count: each thread computes its own outputs, each output summed
 * in the same order (native/threads.c).
 */
import { availableParallelism } from 'node:os';
import { accelerator } from '../core/native.js';

/** The kernels' threads: `n` (1..64) where the addon runs them; returns the count in use (1 without the addon). */
export function setKernelThreads(n: number = availableParallelism()): number {
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= 64)) throw new RangeError(`kernel threads must be an integer from 1 to 64, got ${n}`);
  return accelerator.addon?.setThreads?.(n) ?? 1;
}

/** The kernels' threads in use now. */
export function kernelThreads(): number {
  return accelerator.addon?.getThreads?.() ?? 1;
}

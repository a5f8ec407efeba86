/** The backends a caller may name (no tfjs here: the CLI checks its flags before loading it). */

/** What a caller may ask for; 'auto' tries the others fastest first. */
export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** Every accepted choice, for validating env values and CLI flags. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * How many runs train at once on a backend. On webgpu, one: one process per GPU. Each --jobs
 * process would open its own device on the same GPU, whose queue runs their kernels one after the
 * other (no gain), and would pay its own shader compilation (25-57 s cold on lavapipe) and its own
 * copy of the weights and activations in the GPU's memory. A run's batch is what fills a GPU.
 */
export function jobsOn(backend: string, jobs: number): { readonly jobs: number; readonly note?: string } {
  if (backend !== 'webgpu' || jobs <= 1) return { jobs };
  return {
    jobs: 1,
    note: `--jobs ${jobs} on webgpu: 1 run at a time (one process per GPU: runs in parallel on one GPU only queue behind each other)`,
  };
}

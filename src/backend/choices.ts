/** The backends a caller may name (no tfjs here: the CLI checks its flags before loading it). */

/** What a caller may ask for; 'auto' tries the others fastest first. */
export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** Every accepted choice, for validating env values and CLI flags. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

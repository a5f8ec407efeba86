/**
 * Identity on 'wasm' that shares the input's memory, as the cpu backend's and wasm's own Reshape
 * do, instead of copying it: tfjs clones tensors at every gradient accumulation and variable
 * read, and those copies were a tenth of a ResNet-8 step's time. Safe because no wasm kernel
 * writes into an input (every kernel allocates its output), and the backend counts references.
 */
import { asWasm } from './heap.js';
import { override } from './shared.js';

/** Replaces wasm's Identity (strings still go to the original). Idempotent; returns whether it replaced it now. */
export function registerSharedIdentity(): boolean {
  return override('Identity', (original) => (args) => {
    const x = args.inputs['x'];
    const backend = asWasm(args.backend);
    if (x === undefined || backend === null || x.dtype === 'string') return original.kernelFunc(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

/**
 * BatchMatMul on 'wasm' through the native addon's GEMM (the one under the conv kernels), in place
 * on the heap: dense layers' gradients (x^T dy and dy W^T) were simple-cnn's largest kernel on
 * tfjs-backend-wasm. Float32, either side transposed, batches equal or one of them 1, same rank;
 * anything else, or no addon: the original kernel.
 */
import { accelerator } from '../../core/native.js';
import { asWasm, view } from './heap.js';
import { override } from './shared.js';

const prod = (ds: readonly number[]): number => ds.reduce((p, d) => p * d, 1);

/** Replaces wasm's BatchMatMul. Idempotent; returns whether it replaced it now. */
export function registerNativeMatMul(): boolean {
  return override('BatchMatMul', (original) => (args) => {
    const { a, b } = args.inputs;
    const run = accelerator.addon?.batchMatMul;
    const backend = asWasm(args.backend);
    if (run === undefined || backend === null || a === undefined || b === undefined || a.dtype !== 'float32' || b.dtype !== 'float32')
      return original.kernelFunc(args);
    const rank = a.shape.length;
    if (rank < 2 || b.shape.length !== rank) return original.kernelFunc(args);
    const ta = args.attrs?.['transposeA'] === true;
    const tb = args.attrs?.['transposeB'] === true;
    const [a0, a1] = a.shape.slice(-2) as [number, number];
    const [b0, b1] = b.shape.slice(-2) as [number, number];
    const [m, k] = ta ? [a1, a0] : [a0, a1];
    const [kb, n] = tb ? [b1, b0] : [b0, b1];
    const batchA = prod(a.shape.slice(0, -2));
    const batchB = prod(b.shape.slice(0, -2));
    const sameBatch = a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
    if (k !== kb || m === 0 || n === 0 || batchA === 0 || batchB === 0 || !(sameBatch || batchA === 1 || batchB === 1))
      return original.kernelFunc(args);
    const batchShape = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
    const out = backend.makeOutput([...batchShape, m, n], 'float32');
    run.call(
      accelerator.addon,
      view(backend, a),
      view(backend, b),
      view(backend, out),
      Int32Array.of(batchA, batchB, m, n, k, ta ? 1 : 0, tb ? 1 : 0),
    );
    return out;
  });
}

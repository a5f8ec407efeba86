/**
 * Sum and Mean over leading axes on 'wasm' (batch norm reduces NHWC activations over [0, 1, 2]),
 * by the native addon's column sum in place on the heap. tfjs-backend-wasm transposes the whole
 * activation to put those axes last before reducing, and that transpose was the largest single
 * cost of a ResNet-8 step once the convolutions were native. Other axes, dtypes, or no addon:
 * the original kernel.
 */
import tf from '#tfjs';
import { accelerator } from '../../core/native.js';
import { asWasm, view } from './heap.js';
import { override } from './shared.js';

/** { k, rows, cols } when the reduced axes are exactly the first k axes of `shape` (k >= 1), else null. */
export function leadingSplit(shape: readonly number[], axis: unknown): { k: number; rows: number; cols: number } | null {
  if (shape.length === 0) return null;
  const axes = tf.util.parseAxisParam(axis as number | number[], shape as number[]);
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  if (sorted.length === 0 || !sorted.every((a, i) => a === i)) return null;
  const rows = shape.slice(0, sorted.length).reduce((p, d) => p * d, 1);
  const cols = shape.slice(sorted.length).reduce((p, d) => p * d, 1);
  return { k: sorted.length, rows, cols };
}

function reduceKernel(name: 'Sum' | 'Mean'): boolean {
  return override(name, (original) => (args) => {
    const x = args.inputs['x'];
    const run = accelerator.addon?.sumRows;
    const backend = asWasm(args.backend);
    const split = x !== undefined && x.dtype === 'float32' ? leadingSplit(x.shape, args.attrs?.['axis']) : null;
    if (x === undefined || run === undefined || backend === null || split === null || split.rows === 0 || split.cols === 0)
      return original.kernelFunc(args);
    const { k, rows, cols } = split;
    const outShape = args.attrs?.['keepDims'] === true ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
    const out = backend.makeOutput(outShape, 'float32');
    run.call(accelerator.addon, view(backend, x), rows, cols, view(backend, out), name === 'Mean' ? 1 / rows : 1);
    return out;
  });
}

/** Replaces wasm's Sum and Mean. Idempotent; returns the names replaced this call. */
export function registerLeadingReductions(): string[] {
  return (['Sum', 'Mean'] as const).filter(reduceKernel);
}

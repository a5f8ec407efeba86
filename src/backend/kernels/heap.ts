/**
 * Access to tfjs-backend-wasm's heap for kernels that work in place on it (the native addon's, and
 * plain copies): the backend's private fields these kernels rely on, checked at run time, and views
 * of one tensor's bytes. A view is taken after every allocation, since growing the heap swaps its
 * buffer.
 */
import tf from '#tfjs';

/** The slice of tfjs-backend-wasm's BackendWasm used here. */
export interface WasmHeapBackend {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: object): { memoryOffset: number | null; dtype: string } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  incRef(dataId: object): void;
}

/** The backend as a WasmHeapBackend, or null when it is not one (another backend, another tfjs-backend-wasm). */
export function asWasm(backend: unknown): WasmHeapBackend | null {
  const b = backend as Partial<WasmHeapBackend> | null;
  return b && b.wasm?.HEAPU8 && b.dataIdMap && typeof b.makeOutput === 'function' && typeof b.incRef === 'function'
    ? (b as WasmHeapBackend)
    : null;
}

function offset(backend: WasmHeapBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined || data.memoryOffset === null) throw new Error('wasm heap: tensor has no memory on the wasm heap');
  return data.memoryOffset;
}

/** A float32 view of one float32 tensor's elements on the heap. */
export function view(backend: WasmHeapBackend, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`wasm heap: expected a float32 tensor, got ${t.dtype}`);
  return new Float32Array(backend.wasm.HEAPU8.buffer, offset(backend, t), tf.util.sizeFromShape(t.shape));
}

/** A byte view of one numeric tensor's elements on the heap (4 bytes an element for every numeric dtype wasm stores). */
export function bytes(backend: WasmHeapBackend, t: tf.TensorInfo): Uint8Array {
  return new Uint8Array(backend.wasm.HEAPU8.buffer, offset(backend, t), tf.util.sizeFromShape(t.shape) * tf.util.bytesPerElement(t.dtype));
}

/**
 * The optional native addon (native/mixstream.c, built at install by scripts/build-native.mjs):
 * the byte resize, the byte-to-float lookup (with flips), CutMix's paste, Mixup's blend and CRC-32C
 * in C, the same results as the JavaScript in image.ts, mix.ts and crc32c.ts at several times the speed. Without it
 * the JavaScript runs; MIXSTREAM_NATIVE=0 turns it off.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { errorMessage } from './idioms.js';

export interface Addon {
  resize(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number, out: Uint8Array): void;
  lookup(
    src: Uint8Array,
    table: Float32Array,
    dst: Float32Array,
    offset: number,
    height: number,
    width: number,
    channels: number,
    flipH: number,
    flipV: number,
  ): void;
  blend(x: Float32Array, y: Float32Array, dst: Float32Array, lambda: number): void;
  /** Only where the CPU has SSE 4.2. */
  crc32c?(bytes: Uint8Array, start: number, end: number, crc: number): number;
  /**
   * NHWC conv2d and its gradients (native/conv.c), for the wasm backend's kernels: `geom` packs
   * [b, h, w, ci, fh, fw, co, oh, ow, sh, sw, dh, dw, padTop, padLeft]; the arrays are views of the
   * wasm heap. Absent from an addon built before they existed.
   */
  convForward?(geom: Int32Array, x: Float32Array, filter: Float32Array, bias: Float32Array | null, relu: number, out: Float32Array): void;
  convBackpropFilter?(geom: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  convBackpropInput?(geom: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  /** out[c] = scale * sum over rows of x[r * cols + c] (float64 accumulation): Sum / Mean over leading axes. */
  sumRows?(x: Float32Array, rows: number, cols: number, out: Float32Array, scale: number): void;
  /** Batch norm over the last axis of x viewed as [rows, c] (native/batchnorm.c); scale and offset may be null. */
  bnForward?(
    x: Float32Array,
    rows: number,
    c: number,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    eps: number,
    out: Float32Array,
  ): void;
  /** Its gradient with respect to x, mean, variance, scale and offset, in one pass pair. */
  bnBackward?(
    x: Float32Array,
    dy: Float32Array,
    rows: number,
    c: number,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    eps: number,
    dx: Float32Array,
    dmean: Float32Array,
    dvariance: Float32Array,
    dscale: Float32Array,
    doffset: Float32Array,
  ): void;
  /** Batch norm in training: the batch's mean and variance, then the output (native/batchnorm.c). */
  bnTrain?(
    x: Float32Array,
    rows: number,
    c: number,
    scale: Float32Array | null,
    offset: Float32Array | null,
    eps: number,
    out: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  /** Its gradient through the batch statistics: dx, dscale, doffset. */
  bnTrainBackward?(
    x: Float32Array,
    dy: Float32Array,
    rows: number,
    c: number,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    eps: number,
    dx: Float32Array,
    dscale: Float32Array,
    doffset: Float32Array,
  ): void;
  /** MaxPoolGrad, NHWC, dilation 1; geom = [b, h, w, c, oh, ow, fh, fw, sh, sw, padTop, padLeft] (native/pool.c). */
  maxPoolGrad?(geom: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /**
   * Adam's update of one variable, the float32 operations of tfjs's chain in its order (bit for bit
   * the JavaScript loop of fusedAdam.ts). h: beta1, beta2, 1 - beta1, 1 - beta2, epsilon,
   * -learningRate, 1 - accBeta1, 1 - accBeta2; writes nx, nm, nv.
   */
  /** Threads of the conv and matmul kernels, the calling one included (1..64); returns the count in use (native/threads.c). */
  setThreads?(n: number): number;
  getThreads?(): number;
  adamUpdate?(
    h: Float32Array,
    x: Float32Array,
    m: Float32Array,
    v: Float32Array,
    g: Float32Array,
    nx: Float32Array,
    nm: Float32Array,
    nv: Float32Array,
  ): void;
  /** out[i] = op(a[i]) . op(b[i]) on the conv GEMM; dims = [batchA, batchB, m, n, k, transposeA, transposeB] (a batch of 1 broadcasts). */
  batchMatMul?(a: Float32Array, b: Float32Array, out: Float32Array, dims: Int32Array): void;
  /** NHWC depthwise conv2d and its gradients on the heap (native/depthwise.c); geom as convForward's, co = ci x multiplier. */
  dwForward?(geom: Int32Array, x: Float32Array, filter: Float32Array, out: Float32Array): void;
  dwBackpropInput?(geom: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  dwBackpropFilter?(geom: Int32Array, x: Float32Array, dy: Float32Array, df: Float32Array): void;
  /** dx = dy where lo <= x <= hi (relu 0: ClipByValue's gradient) or x > 0 (relu 1: Relu's), else 0. */
  gradMask?(x: Float32Array, dy: Float32Array, dx: Float32Array, lo: number, hi: number, relu: number): void;
  /** out = max(x, 0) (relu 1) or clip(x, lo, hi) (relu 0), threaded. */
  actForward?(x: Float32Array, out: Float32Array, lo: number, hi: number, relu: number): void;
  /** The vector unit the conv kernels use: 'avx2+fma' or 'none'. */
  convSimd?: string;
  paste(
    own: Uint8Array,
    partner: Uint8Array,
    dst: Uint8Array,
    height: number,
    width: number,
    pixelBytes: number,
    y0: number,
    y1: number,
    x0: number,
    x1: number,
  ): void;
}

function load(): { addon?: Addon; why: string } {
  if (process.env.MIXSTREAM_NATIVE === '0') return { why: 'turned off by MIXSTREAM_NATIVE=0' };
  const require = createRequire(import.meta.url);
  // From src/core (run by tsx) or dist/src/core (compiled).
  const paths = ['../../build/Release/mixstream.node', '../../../build/Release/mixstream.node'].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  let why = 'not built (npm install builds it with node-gyp: g++ and make needed)';
  for (const path of paths) {
    try {
      return { addon: require(path) as Addon, why: path };
    } catch (error) {
      if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND') why = `${path}: ${errorMessage(error)}`;
    }
  }
  return { why };
}

const loaded = load();

/** The addon the core calls when it is there (tests switch it off to compare with the JavaScript). */
export const accelerator: { addon: Addon | undefined } = { addon: loaded.addon };

/** Whether the addon loaded: 'native' with its path, or 'javascript' with the reason. */
export const nativeStatus = { kind: loaded.addon ? 'native' : 'javascript', why: loaded.why } as const;

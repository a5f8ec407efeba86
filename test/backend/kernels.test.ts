import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, type Rng } from '../../src/core/random.js';
import { registerWasmTrainingKernels, wasmTrainingKernels } from '../../src/backend/index.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
interface Case {
  readonly kind: 'conv' | 'depthwise';
  readonly b: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  /** Output channels for conv, channel multiplier for depthwise. */
  readonly k: number;
  readonly fh: number;
  readonly fw: number;
  readonly strides: [number, number];
  readonly pad: Pad;
}

const label = (c: Case) =>
  `${c.kind} x[${c.b},${c.h},${c.w},${c.c}] f${c.fh}x${c.fw} k${c.k} s${c.strides.join('x')} ${JSON.stringify(c.pad)}`;

function randomCase(r: Rng, kind: Case['kind'], i: number): Case {
  const fh = [1, 2, 3, 3, 5][r.int(5)] as number;
  const fw = r.next() < 0.7 ? fh : ([1, 2, 3][r.int(3)] as number);
  const pad: Pad = i % 2 === 0 ? 'same' : 'valid';
  const s = i % 4 < 2 ? 2 : 1;
  const strides: [number, number] = r.next() < 0.15 ? [s, 3 - s] : [s, s];
  return {
    kind,
    b: i % 5 === 0 ? 1 : 1 + r.int(3),
    h: fh + r.int(9), // valid padding needs h >= fh
    w: fw + r.int(9),
    c: 1 + r.int(4),
    k: kind === 'depthwise' ? 1 + (i % 3 === 0 ? 0 : 1) : 1 + r.int(5),
    fh,
    fw,
    strides,
    pad,
  };
}

/** Fixed cases the brief names explicitly, then random ones. */
function cases(kind: Case['kind'], n: number): Case[] {
  const fixed: Case[] = [
    { kind, b: 1, h: 7, w: 7, c: 3, k: kind === 'conv' ? 4 : 1, fh: 3, fw: 3, strides: [2, 2], pad: 'same' },
    { kind, b: 2, h: 9, w: 5, c: 2, k: 2, fh: 3, fw: 3, strides: [2, 2], pad: 'valid' },
    { kind, b: 3, h: 8, w: 8, c: 4, k: 2, fh: 3, fw: 3, strides: [1, 1], pad: 'same' },
    { kind, b: 1, h: 6, w: 11, c: 3, k: 1, fh: 5, fw: 2, strides: [2, 2], pad: 'same' },
    { kind, b: 2, h: 10, w: 10, c: 5, k: 2, fh: 2, fw: 2, strides: [2, 2], pad: 'same' },
    { kind, b: 2, h: 16, w: 16, c: 8, k: 2, fh: 3, fw: 3, strides: [1, 1], pad: 'valid' },
    // Numeric and explicit padding reach the kernels too (asymmetric, larger than 'same').
    { kind, b: 2, h: 7, w: 8, c: 3, k: 2, fh: 3, fw: 3, strides: [2, 2], pad: 1 },
    {
      kind,
      b: 1,
      h: 6,
      w: 7,
      c: 2,
      k: 2,
      fh: 3,
      fw: 2,
      strides: [2, 2],
      pad: [
        [0, 0],
        [2, 1],
        [0, 3],
        [0, 0],
      ],
    },
    {
      kind,
      b: 2,
      h: 5,
      w: 5,
      c: 2,
      k: 1,
      fh: 3,
      fw: 3,
      strides: [1, 1],
      pad: [
        [0, 0],
        [0, 2],
        [1, 0],
        [0, 0],
      ],
    },
  ];
  const r = rng(20240611, 'kernel-cases', kind);
  return [...fixed, ...Array.from({ length: n }, (_, i) => randomCase(r, kind, i))];
}

function outShape(c: Case): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.b, c.h, c.w, c.c],
    [c.fh, c.fw, c.c, c.k],
    c.strides,
    1,
    c.pad,
    typeof c.pad === 'number' ? 'floor' : undefined,
    c.kind === 'depthwise',
  );
  return info.outShape;
}

function data(c: Case) {
  const r = rng(7, label(c));
  const fill = (n: number) => Float32Array.from({ length: n }, () => r.normal());
  const out = outShape(c);
  return {
    x: fill(c.b * c.h * c.w * c.c),
    f: fill(c.fh * c.fw * c.c * c.k),
    dy: fill(out.reduce((a, d) => a * d, 1)),
    out,
  };
}

const rounding = (c: Case): 'floor' | undefined => (typeof c.pad === 'number' ? 'floor' : undefined);

/** dL/dx and dL/dfilter for L = sum(op(x, f) * dy) on the named backend, as plain arrays. */
async function grads(backend: string, c: Case, d: ReturnType<typeof data>) {
  await tf.setBackend(backend);
  const [gx, gf] = tf.tidy(() => {
    const x = tf.tensor4d(d.x, [c.b, c.h, c.w, c.c]);
    const f = tf.tensor4d(d.f, [c.fh, c.fw, c.c, c.k]);
    const dy = tf.tensor4d(d.dy, d.out);
    const op = (a: tf.Tensor, b: tf.Tensor) =>
      c.kind === 'conv'
        ? tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', 1, rounding(c))
        : tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, 'NHWC', 1, rounding(c));
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), dy)))([x, f]);
  }) as [tf.Tensor, tf.Tensor];
  const out = { dx: (await gx.data()) as Float32Array, df: (await gf.data()) as Float32Array, dxShape: gx.shape, dfShape: gf.shape };
  tf.dispose([gx, gf]);
  return out;
}

/** Largest |a-b| over the largest |b|: relative to the gradient's scale, not per element (near-zero entries). */
function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / Math.max(scale, 1e-12);
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});

describe('wasm training kernels', () => {
  it('registers once: a second call adds nothing', () => {
    expect(registerWasmTrainingKernels()).toEqual([]);
    for (const k of wasmTrainingKernels) expect(tf.getKernel(k.kernelName, 'wasm')).toBeDefined();
  });

  for (const kind of ['conv', 'depthwise'] as const) {
    it(`${kind}: gradients on wasm equal cpu's within 1e-4 over random shapes`, async () => {
      const worst = { err: 0, at: '' };
      for (const c of cases(kind, 30)) {
        const d = data(c);
        const want = await grads('cpu', c, d);
        const got = await grads('wasm', c, d);
        expect(got.dfShape, label(c)).toEqual(want.dfShape);
        expect(got.dxShape, label(c)).toEqual(want.dxShape);
        for (const [which, e] of [
          ['dfilter', relErr(got.df, want.df)],
          ['dx', relErr(got.dx, want.dx)],
        ] as const) {
          if (e > worst.err) Object.assign(worst, { err: e, at: `${which} ${label(c)}` });
          expect(e, `${which} ${label(c)}`).toBeLessThan(1e-4);
        }
      }
      await tf.setBackend('wasm');
      console.log(`${kind}: worst relative error ${worst.err.toExponential(2)} at ${worst.at}`);
    });
  }

  it('fast Tile equals cpu for float32 (broadcast path) and other dtypes/ranks (delegated)', async () => {
    const shapes: Array<[number[], number[], 'float32' | 'int32']> = [
      [[1, 1, 1, 5], [3, 4, 4, 1], 'float32'],
      [[2, 3], [2, 2], 'float32'],
      [[3], [4], 'float32'],
      [[2, 1, 3, 1, 2], [1, 3, 2, 2, 1], 'float32'],
      [[2, 2, 2, 2], [2, 2, 2, 2], 'float32'], // 8 alternating axes: beyond XNNPACK, delegated
      [[2, 3], [1, 1], 'float32'],
      [[2, 3], [3, 2], 'int32'],
    ];
    for (const [shape, reps, dtype] of shapes) {
      const n = shape.reduce((a, d) => a * d, 1);
      const values = Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i - 3 : Math.sin(i) * 10));
      const on = async (backend: string) => {
        await tf.setBackend(backend);
        const x = tf.tensor(values, shape, dtype);
        const y = tf.tile(x, reps);
        const out = { shape: y.shape, data: Array.from(await y.data()) };
        tf.dispose([x, y]);
        return out;
      };
      const want = await on('cpu');
      expect(await on('wasm'), `tile ${shape} x ${reps} ${dtype}`).toEqual(want);
    }
  });

  it('leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const dw = tf.randomNormal([3, 3, 3, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    const run = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) =>
      tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    const outs = [
      run(
        'Conv2DBackpropFilter',
        { x, dy: tf.ones([2, 5, 5, 4]) },
        { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] },
      ),
      run(
        'DepthwiseConv2dNativeBackpropFilter',
        { x, dy: tf.ones([2, 5, 5, 6]) },
        { strides: 2, pad: 'same', dilations: 1, filterShape: [3, 3, 3, 2] },
      ),
      run(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: tf.ones([2, 5, 5, 6]), filter: dw },
        { strides: 2, pad: 'same', dilations: 1, inputShape: [2, 9, 9, 3] },
      ),
    ];
    expect(outs.map((t) => t.shape)).toEqual([
      [3, 3, 3, 4],
      [3, 3, 3, 2],
      [2, 9, 9, 3],
    ]);
    // Each op leaves its output and the tf.ones argument we passed in: two per op.
    expect(tf.memory().numTensors).toBe(tensors + 2 * outs.length);
    expect(tf.engine().backend.numDataIds()).toBe(ids + 2 * outs.length);
    // A whole backward pass through a strided conv, results dropped: nothing may remain.
    tf.tidy(() => {
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]);
    });
    expect(tf.memory().numTensors).toBe(tensors + 2 * outs.length);
    expect(tf.engine().backend.numDataIds()).toBe(ids + 2 * outs.length);
    tf.dispose(outs);
    tf.dispose([x, w, dw]);
  });
});

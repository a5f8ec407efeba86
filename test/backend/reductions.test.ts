import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { leadingSplit } from '../../src/backend/index.js';
import { accelerator } from '../../src/core/native.js';
import { rng } from '../../src/core/random.js';
import { onWasmWithKernels } from './wasmSetup.js';

const addon = onWasmWithKernels();

function values(n: number, seed: string): Float32Array {
  const r = rng(5, seed);
  return Float32Array.from({ length: n }, () => r.normal() * 3);
}

/** f's result and its gradient (times a random dy) on one backend, as arrays with shapes. */
async function on(
  backend: string,
  shape: number[],
  f: (x: tf.Tensor) => tf.Tensor,
): Promise<{ y: number[]; yShape: number[]; dx: number[] }> {
  await tf.setBackend(backend);
  const x = tf.tensor(values(tf.util.sizeFromShape(shape), `x${shape}`), shape);
  const y = f(x);
  const dy = tf.tensor(values(tf.util.sizeFromShape(y.shape), `dy${shape}`), y.shape);
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy)))(x);
  const out = { y: Array.from(await y.data()), yShape: y.shape, dx: Array.from(await dx.data()) };
  tf.dispose([x, y, dy, dx]);
  return out;
}

function close(got: number[], want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1e-12, ...want.map(Math.abs));
  const worst = Math.max(0, ...got.map((g, i) => Math.abs(g - (want[i] as number))));
  expect(worst / scale, what).toBeLessThan(1e-4);
}

const CASES: Array<[number[], number | number[], boolean]> = [
  [[4, 5, 6, 3], [0, 1, 2], false], // batch norm's reduction
  [[4, 5, 6, 3], [2, 0, 1], true], // same axes, any order, keepDims
  [[7, 10], 0, false], // a dense bias gradient
  [[7, 10], [0, 1], false], // everything: one value
  [[3, 4, 5], -1, true], // last axis: not leading, the original kernel
  [[3, 4, 5], [0, 2], false], // not a prefix: the original kernel
  [[1, 1, 8], [0, 1], false],
];

describe('Sum and Mean over leading axes, their gradients, Tile and Identity on wasm', () => {
  it('leadingSplit recognises exactly the leading-prefix reductions', () => {
    expect(leadingSplit([4, 5, 6, 3], [2, 0, 1])).toEqual({ k: 3, rows: 120, cols: 3 });
    expect(leadingSplit([7, 10], [0, 1])).toEqual({ k: 2, rows: 70, cols: 1 });
    expect(leadingSplit([3, 4, 5], [0, 2])).toBeNull();
    expect(leadingSplit([3, 4, 5], -1)).toBeNull();
  });

  for (const native of [true, false]) {
    it(`Sum and Mean and their gradients equal cpu's within 1e-4 (${native ? 'with' : 'without'} the addon)`, async () => {
      if (!native) accelerator.addon = undefined;
      for (const [shape, axis, keepDims] of CASES) {
        for (const op of ['sum', 'mean'] as const) {
          const f = (x: tf.Tensor) => tf[op](x, axis, keepDims);
          const want = await on('cpu', shape, f);
          const got = await on('wasm', shape, f);
          const what = `${op} ${shape} axis ${axis} keepDims ${keepDims}`;
          expect(got.yShape, what).toEqual(want.yShape);
          close(got.y, want.y, what);
          close(got.dx, want.dx, `d${what}`);
        }
      }
    });
  }

  it('the native Sum runs for leading axes only', async () => {
    if (addon?.sumRows === undefined) return expect(addon).toBeUndefined();
    let calls = 0;
    const sumRows = addon.sumRows;
    addon.sumRows = (...a) => {
      calls++;
      sumRows.apply(addon, a);
    };
    try {
      await tf.setBackend('wasm');
      tf.tidy(() => [tf.sum(tf.ones([2, 3, 4]), [0, 1]), tf.mean(tf.ones([2, 3]), 0), tf.sum(tf.ones([2, 3]), 1)]);
    } finally {
      addon.sumRows = sumRows;
    }
    expect(calls).toBe(2);
  });

  it('Tile equals cpu for leading repeats of every dtype, and for the rest', async () => {
    const cases: Array<[number[], number[], 'float32' | 'int32' | 'bool']> = [
      [[1, 1, 1, 5], [3, 4, 4, 1], 'float32'],
      [[1, 5], [7, 1], 'int32'],
      [[1, 1], [3, 5], 'float32'],
      [[1, 3], [2, 1], 'bool'],
      [[2, 3], [2, 2], 'float32'],
      [[1, 2, 1, 3], [2, 1, 3, 1], 'float32'],
    ];
    for (const [shape, reps, dtype] of cases) {
      const n = tf.util.sizeFromShape(shape);
      const vals = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 2 : i - 2 + 0.5 * Number(dtype === 'float32')));
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const y = tf.tile(tf.tensor(vals, shape, dtype), reps);
        const out = { shape: y.shape, data: Array.from(await y.data()) };
        y.dispose();
        return out;
      };
      expect(await run('wasm'), `tile ${shape} x ${reps} ${dtype}`).toEqual(await run('cpu'));
    }
  });

  it('Identity shares memory: a clone outlives its source, and nothing leaks', async () => {
    await tf.setBackend('wasm');
    const ids = tf.engine().backend.numDataIds();
    const x = tf.tensor([1, 2, 3]);
    const y = tf.clone(x);
    expect(tf.engine().backend.numDataIds()).toBe(ids + 1);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });
});

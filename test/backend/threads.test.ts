import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { backendKernelsInfo, fusedAdam, kernelThreads, setKernelThreads } from '../../src/backend/index.js';
import { rng } from '../../src/core/random.js';
import { resnet } from '../../src/models/index.js';
import { onWasmWithKernels } from './wasmSetup.js';

const addon = onWasmWithKernels();
afterAll(() => setKernelThreads(1));

/** Values of `shape`, seeded. */
const values = (seed: number, shape: number[]): tf.Tensor => {
  const r = rng(seed, 'threads', shape.join('x'));
  return tf.tensor(
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => r.normal()),
    shape,
  );
};

/** Every kernel the pool splits, on shapes big enough to be split (over 16 MFLOP each), as flat arrays. */
async function kernels(): Promise<number[][]> {
  const x = values(1, [8, 32, 32, 16]) as tf.Tensor4D;
  const w = values(2, [3, 3, 16, 32]) as tf.Tensor4D;
  const dy = values(3, [8, 32, 32, 32]) as tf.Tensor4D;
  const a = values(4, [3, 96, 300]);
  const b = values(5, [3, 300, 200]);
  const c = values(7, [1, 8, 2000]);
  const d = values(8, [1, 1024, 2000]);
  const conv = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 } as const;
  const outs = [
    tf.conv2d(x, w, 1, 'same'),
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: w.shape }) as tf.Tensor,
    tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...conv, inputShape: x.shape }) as tf.Tensor,
    tf.matMul(a, b),
    tf.matMul(c, d, false, true), // B transposed, and 8 rows: split by columns
  ];
  const data = await Promise.all(outs.map(async (t) => Array.from(await t.data())));
  tf.dispose([x, w, dy, a, b, c, d, ...outs]);
  return data;
}

/** Three Adam steps of ResNet-8 on one seeded batch: every weight after. */
async function trained(): Promise<number[][]> {
  const model = resnet({ inputSize: 16, numClasses: 4, seed: 3 });
  model.compile({ optimizer: fusedAdam(0.01), loss: 'categoricalCrossentropy' });
  const xs = values(6, [8, 16, 16, 3]);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
  for (let i = 0; i < 3; i++) await model.trainOnBatch(xs, ys);
  const weights = await Promise.all(model.getWeights().map(async (t) => Array.from(await t.data())));
  model.dispose();
  tf.dispose([xs, ys]);
  return weights;
}

describe.runIf(addon?.setThreads !== undefined)('native kernels on several threads', () => {
  it('set and reported: 1 to 64, else a RangeError naming the range', () => {
    expect(setKernelThreads(3)).toBe(3);
    expect(kernelThreads()).toBe(3);
    expect(backendKernelsInfo().threads).toBe(3);
    expect(() => setKernelThreads(0)).toThrow(/from 1 to 64, got 0/);
    expect(() => setKernelThreads(65)).toThrow(/from 1 to 64/);
    expect(setKernelThreads(1)).toBe(1);
  });

  it('give the numbers of one thread bit for bit: conv, both conv gradients, matmul, and ResNet-8 training', async () => {
    setKernelThreads(1);
    const one = [await kernels(), await trained()];
    for (const n of [2, 3]) {
      setKernelThreads(n);
      expect([await kernels(), await trained()], `${n} threads`).toEqual(one);
    }
  });
});

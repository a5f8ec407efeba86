import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { rng } from '../../src/core/random.js';
import { onWasmWithKernels } from './wasmSetup.js';

const addon = onWasmWithKernels();

/** ReLU6 as Keras's ReLU(6.) layer runs it (relu, then clip), a zero-padding crop, and their gradients. */
async function run(backend: string, seed: number): Promise<number[][]> {
  await tf.setBackend(backend);
  const r = rng(seed, 'activations');
  const shape: [number, number, number, number] = [2, 9, 7, 37];
  const x = tf.tensor4d(
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => 4 * r.normal()),
    shape,
  );
  const f = (a: tf.Tensor): tf.Tensor => {
    const padded = tf.pad(tf.clipByValue(tf.relu(a), 0, 6), [
      [0, 0],
      [0, 1],
      [0, 1],
      [0, 0],
    ]);
    return tf.slice(padded, [0, 1, 1, 0], [-1, -1, -1, -1]);
  };
  const y = f(x);
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), tf.tensor1d(Array.from({ length: 37 }, (_, i) => -1 + i / 18)))))(x);
  const out = [Array.from(await y.data()), Array.from(await dx.data())];
  tf.dispose([x, y, dx]);
  return out;
}

describe('Relu, ClipByValue and Slice on wasm', () => {
  it('forward and gradients equal cpu bit for bit, through the native kernels', async () => {
    if (!addon?.actForward || !addon.gradMask) return;
    let act = 0;
    let mask = 0;
    const a = addon.actForward;
    const m = addon.gradMask;
    addon.actForward = (...args) => {
      act++;
      a.apply(addon, args);
    };
    addon.gradMask = (...args) => {
      mask++;
      m.apply(addon, args);
    };
    try {
      for (const seed of [1, 2]) {
        const wasm = await run('wasm', seed);
        const cpu = await run('cpu', seed);
        expect(wasm).toEqual(cpu);
      }
    } finally {
      addon.actForward = a;
      addon.gradMask = m;
      await tf.setBackend('wasm');
    }
    expect(act).toBeGreaterThan(0);
    expect(mask).toBeGreaterThan(0);
  });

  it('a backward pass that frees gradients as it goes gives finite gradients and leaves no tensor behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([4, 16, 16, 8]);
    const w = tf.variable(tf.randomNormal([3, 3, 8, 8]));
    const before = tf.memory().numTensors;
    const g = tf.variableGrads(() => {
      let h: tf.Tensor4D = x as tf.Tensor4D;
      for (let i = 0; i < 6; i++) h = tf.relu(tf.conv2d(h, w as tf.Tensor4D, 1, 'same'));
      return tf.sum(h) as tf.Scalar;
    });
    const grad = Array.from(await g.grads['w' in g.grads ? 'w' : Object.keys(g.grads)[0]!]!.data());
    expect(grad.every(Number.isFinite)).toBe(true);
    tf.dispose([g.value, ...Object.values(g.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});

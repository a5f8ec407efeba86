import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUSED_ADAM, fusedAdam, registerWasmTrainingKernels } from '../../src/backend/index.js';
import { accelerator } from '../../src/core/native.js';
import { rng } from '../../src/core/random.js';

beforeAll(async () => {
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});

/** Three Adam steps on two variables from fixed values and gradients; the variables and the optimizer's weights after. */
async function steps(backend: string, make: () => tf.Optimizer): Promise<number[][]> {
  await tf.setBackend(backend);
  const r = rng(6, 'adam');
  const fill = (n: number) => Float32Array.from({ length: n }, () => r.normal());
  const a = tf.tidy(() => tf.variable(tf.tensor2d(fill(12), [3, 4]), true, 'adam_test_a'));
  const b = tf.tidy(() => tf.variable(tf.tensor1d(fill(5)), true, 'adam_test_b'));
  const opt = make();
  for (let i = 0; i < 3; i++) {
    const ga = tf.tensor2d(fill(12), [3, 4]);
    const gb = tf.tensor1d(fill(5));
    opt.applyGradients({ adam_test_a: ga, adam_test_b: gb });
    tf.dispose([ga, gb]);
  }
  const weights = await opt.getWeights();
  const out = [
    Array.from(await a.data()),
    Array.from(await b.data()),
    ...(await Promise.all(weights.map(async (w) => Array.from(await w.tensor.data())))),
  ];
  weights[0]?.tensor.dispose(); // the iteration count, a fresh scalar
  opt.dispose();
  tf.dispose([a, b]);
  return out;
}

describe('fusedAdam', () => {
  it('on wasm matches tf.train.adam on cpu within 1e-4 (variables, moments, iterations), through the fused kernel', async () => {
    const want = await steps('cpu', () => tf.train.adam(0.01));
    const profile = await tf.profile(async () => {
      await steps('wasm', () => fusedAdam(0.01));
    });
    await tf.setBackend('wasm');
    const got = await steps('wasm', () => fusedAdam(0.01));
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => {
      const w = want[i] as number[];
      const scale = Math.max(1e-12, ...w.map(Math.abs));
      expect(Math.max(...g.map((x, j) => Math.abs(x - (w[j] as number)))) / scale, `array ${i}`).toBeLessThan(1e-4);
    });
    // One fused kernel per variable and step, and none of Adam's element-wise kernels on the variables.
    expect(profile.kernels.filter((k) => k.name === FUSED_ADAM).length).toBe(6);
    expect(profile.kernels.filter((k) => k.name === 'Sqrt').length).toBe(0);
  });

  it.runIf(accelerator.addon?.adamUpdate !== undefined)(
    "the addon's update equals the JavaScript loop bit for bit (vector body and tail)",
    async () => {
      const native = await steps('wasm', () => fusedAdam(0.01));
      const addon = accelerator.addon;
      accelerator.addon = undefined;
      try {
        expect(await steps('wasm', () => fusedAdam(0.01))).toEqual(native);
      } finally {
        accelerator.addon = addon;
      }
    },
  );

  it('is tf.train.adam off wasm, and leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const want = await steps('cpu', () => tf.train.adam(0.01));
    const got = await steps('cpu', () => fusedAdam(0.01));
    expect(got).toEqual(want);
    await steps('wasm', () => fusedAdam(0.01));
    expect(tf.memory().numTensors).toBe(before);
  });
});

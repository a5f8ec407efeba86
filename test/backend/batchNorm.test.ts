import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { backendKernelsInfo } from '../../src/backend/index.js';
import { accelerator } from '../../src/core/native.js';
import { rng } from '../../src/core/random.js';
import { onWasmWithKernels } from './wasmSetup.js';

const addon = onWasmWithKernels();

function fill(n: number, seed: string, shift = 0): Float32Array {
  const r = rng(3, seed);
  return Float32Array.from({ length: n }, () => r.normal() + shift);
}

/** y = batchNorm(x, moments(x)) as tf.layers trains it, and the gradients of sum(y * dy) for x, scale and offset. */
async function run(backend: string, shape: number[], withScale: boolean): Promise<Record<string, number[]>> {
  await tf.setBackend(backend);
  const c = shape[shape.length - 1] as number;
  const axes = shape.slice(0, -1).map((_, i) => i);
  const x = tf.tensor(fill(tf.util.sizeFromShape(shape), `x${shape}`), shape);
  const scale = tf.tensor1d(fill(c, `s${shape}`, 1));
  const offset = tf.tensor1d(fill(c, `o${shape}`));
  const dy = tf.tensor(fill(tf.util.sizeFromShape(shape), `dy${shape}`), shape);
  const f = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, axes);
    return tf.batchNorm(a, mean, variance, o, withScale ? s : undefined, 1e-3);
  };
  const y = tf.tidy(() => f(x, scale, offset));
  const [dx, ds, dofs] = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(f(a, s, o), dy)))([x, scale, offset]);
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries({ y, dx, ds, dofs })) out[k] = Array.from(await (t as tf.Tensor).data());
  tf.dispose([x, scale, offset, dy, y, dx, ds, dofs] as tf.Tensor[]);
  return out;
}

function relErr(got: number[], want: number[]): number {
  const scale = Math.max(1e-12, ...want.map(Math.abs));
  return Math.max(0, ...got.map((g, i) => Math.abs(g - (want[i] as number)))) / scale;
}

describe('batch norm on wasm', () => {
  for (const native of [true, false]) {
    it(`forward and gradients (x, scale, offset, through moments) equal cpu within 1e-4, ${native ? 'with' : 'without'} the addon`, async () => {
      if (!native) accelerator.addon = undefined;
      let nativeCalls = 0;
      const bn = addon?.bnBackward;
      if (native && addon && bn) {
        addon.bnBackward = (...a) => {
          nativeCalls++;
          bn.apply(addon, a);
        };
      }
      try {
        // Always with scale: tfjs 4.22 itself cannot take the gradient of batchNorm without one (it saves the absent input).
        for (const [shape, withScale] of [
          [[4, 6, 5, 3], true],
          [[2, 3, 3, 16], true],
          [[9, 7], true],
        ] as const) {
          const want = await run('cpu', [...shape], withScale);
          const got = await run('wasm', [...shape], withScale);
          for (const k of Object.keys(want))
            expect(relErr(got[k] as number[], want[k] as number[]), `${k} ${shape} scale ${withScale}`).toBeLessThan(1e-4);
        }
      } finally {
        if (addon && bn) addon.bnBackward = bn;
      }
      // Where the addon is built the native gradient ran once per case; without it, never.
      expect(nativeCalls).toBe(native && bn ? 3 : 0);
      if (native && bn) expect(backendKernelsInfo().kernels['FusedBatchNorm']).toMatch(/^native/);
      await tf.setBackend('wasm');
    });
  }

  it('leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    await run('wasm', [2, 4, 4, 8], true);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });
});

/**
 * A tf.layers.batchNormalization layer trained for two steps of SGD on sum(y * w): its output, the
 * gradients of x, gamma and beta, and its four weights after (moving mean and variance included).
 */
async function layerSteps(backend: string, shape: number[]): Promise<Record<string, number[]>> {
  if (tf.getBackend() !== backend) await tf.setBackend(backend);
  const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
  const x = tf.tensor(fill(tf.util.sizeFromShape(shape), `lx${shape}`, 0.5), shape);
  const w = tf.tensor(fill(tf.util.sizeFromShape(shape), `lw${shape}`), shape);
  layer.apply(x); // builds it
  const out: Record<string, number[]> = {};
  for (let step = 0; step < 2; step++) {
    const vars = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar, vars);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a, { training: true }) as tf.Tensor, w)))(x);
    out[`loss${step}`] = [await value.data()].flatMap((d) => Array.from(d));
    out[`dx${step}`] = Array.from(await dx.data());
    for (const [name, g] of Object.entries(grads)) {
      out[`d${name.replace(/.*\//, '')}${step}`] = Array.from(await g.data());
      tf.tidy(() =>
        vars
          .find((v) => v.name === name)!
          .assign(
            tf.sub(
              vars.find((v) => v.name === name)!,
              tf.mul(g, 0.1),
            ),
          ),
      );
    }
    tf.dispose([value, dx, ...Object.values(grads)]);
  }
  layer.getWeights().forEach((t, i) => (out[`weight${i}`] = Array.from(t.dataSync())));
  out['inference'] = Array.from(await (layer.apply(x, { training: false }) as tf.Tensor).data());
  layer.dispose();
  tf.dispose([x, w]);
  return out;
}

describe('tf.layers.batchNormalization training on wasm', () => {
  it.runIf(addon?.bnTrain !== undefined)(
    'in one native kernel each way equals the cpu backend within 1e-4: output, gradients of x, gamma and beta, moving statistics',
    async () => {
      for (const shape of [
        [4, 6, 5, 3],
        [2, 3, 3, 16],
        [9, 7],
      ]) {
        const want = await layerSteps('cpu', shape);
        const got = await layerSteps('wasm', shape);
        const profile = await tf.profile(async () => {
          await layerSteps('wasm', shape);
        });
        expect(Object.keys(got)).toEqual(Object.keys(want));
        for (const k of Object.keys(want)) expect(relErr(got[k] as number[], want[k] as number[]), `${k} ${shape}`).toBeLessThan(1e-4);
        // The fused kernel ran, and tf.moments' chain did not.
        expect(profile.kernels.some((k) => k.name === 'MixstreamBatchNormTrain')).toBe(true);
        expect(profile.kernels.some((k) => k.name === 'Square')).toBe(false);
      }
    },
  );
});

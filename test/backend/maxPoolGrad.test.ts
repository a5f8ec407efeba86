import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { accelerator } from '../../src/core/native.js';
import { rng } from '../../src/core/random.js';
import { onWasmWithKernels } from './wasmSetup.js';

const addon = onWasmWithKernels();

type Case = [shape: [number, number, number, number], size: number, stride: number, pad: 'same' | 'valid'];
const CASES: Case[] = [
  [[2, 8, 8, 3], 2, 2, 'same'],
  [[1, 7, 9, 4], 2, 2, 'same'], // odd sides: 'same' pads the last row and column
  [[2, 7, 7, 2], 3, 2, 'valid'],
  [[1, 6, 6, 5], 3, 1, 'same'], // overlapping windows: one input can take several dy
  [[2, 6, 6, 8], 2, 2, 'same'], // 8 channels: the vector path, ties of relu zeros included
  [[1, 7, 5, 19], 3, 1, 'same'], // 19 channels: two vectors and a tail, overlapping windows
];

/** d/dx of sum(maxPool(relu(x)) * dy): relu makes ties of zeros, where the tie rule shows. */
async function grad(backend: string, [shape, size, stride, pad]: Case): Promise<number[]> {
  await tf.setBackend(backend);
  const r = rng(9, `pool${shape}${size}${stride}${pad}`);
  const x = tf.tensor4d(
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => r.normal()),
    shape,
  );
  const f = (a: tf.Tensor) => tf.maxPool(tf.relu(a) as tf.Tensor4D, size, stride, pad);
  const outShape = tf.tidy(() => f(x).shape);
  const dy = tf.tensor(
    Float32Array.from({ length: tf.util.sizeFromShape(outShape) }, () => r.normal()),
    outShape,
  );
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy)))(x);
  const out = Array.from(await dx.data());
  tf.dispose([x, dy, dx]);
  return out;
}

describe('MaxPoolGrad on wasm', () => {
  for (const native of [true, false]) {
    it(`equals cpu (same tie rule) ${native ? 'with' : 'without'} the addon`, async () => {
      if (!native) accelerator.addon = undefined;
      let calls = 0;
      const run = addon?.maxPoolGrad;
      if (native && addon && run) {
        addon.maxPoolGrad = (...a) => {
          calls++;
          run.apply(addon, a);
        };
      }
      try {
        for (const c of CASES) {
          const want = await grad('cpu', c);
          const got = await grad('wasm', c);
          const scale = Math.max(...want.map(Math.abs));
          expect(Math.max(...got.map((g, i) => Math.abs(g - (want[i] as number)))) / scale, JSON.stringify(c)).toBeLessThan(1e-4);
        }
      } finally {
        if (addon && run) addon.maxPoolGrad = run;
      }
      expect(calls).toBe(native && run ? CASES.length : 0);
    });
  }
});

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { accelerator } from '../../src/core/native.js';
import { rng } from '../../src/core/random.js';
import { onWasmWithKernels } from './wasmSetup.js';

const addon = onWasmWithKernels();

type Case = [a: number[], b: number[], transposeA: boolean, transposeB: boolean];
const CASES: Case[] = [
  [[16, 1024], [1024, 64], false, false], // a dense layer forward
  [[16, 1024], [16, 64], true, false], // its weight gradient, x^T dy
  [[16, 64], [1024, 64], false, true], // its input gradient, dy W^T
  [[3, 5, 7], [3, 7, 19], false, false], // batches, columns not a multiple of 16
  [[1, 4, 6], [5, 4, 3], true, false], // a batch of 1 broadcasts
  [[2, 9, 2], [2, 17, 2], false, true],
];

async function product(backend: string, [as, bs, ta, tb]: Case): Promise<{ shape: number[]; data: number[] }> {
  await tf.setBackend(backend);
  const r = rng(4, `mm${as}${bs}${ta}${tb}`);
  const a = tf.tensor(
    Float32Array.from({ length: tf.util.sizeFromShape(as) }, () => r.normal()),
    as,
  );
  const b = tf.tensor(
    Float32Array.from({ length: tf.util.sizeFromShape(bs) }, () => r.normal()),
    bs,
  );
  const y = tf.matMul(a, b, ta, tb);
  const out = { shape: y.shape, data: Array.from(await y.data()) };
  tf.dispose([a, b, y]);
  return out;
}

describe('BatchMatMul on wasm', () => {
  for (const native of [true, false]) {
    it(`equals cpu within 1e-4 ${native ? 'with' : 'without'} the addon`, async () => {
      if (!native) accelerator.addon = undefined;
      let calls = 0;
      const run = addon?.batchMatMul;
      if (native && addon && run) {
        addon.batchMatMul = (...x) => {
          calls++;
          run.apply(addon, x);
        };
      }
      try {
        for (const c of CASES) {
          const want = await product('cpu', c);
          const got = await product('wasm', c);
          expect(got.shape, JSON.stringify(c)).toEqual(want.shape);
          const scale = Math.max(...want.data.map(Math.abs));
          expect(Math.max(...got.data.map((g, i) => Math.abs(g - (want.data[i] as number)))) / scale, JSON.stringify(c)).toBeLessThan(1e-4);
        }
      } finally {
        if (addon && run) addon.batchMatMul = run;
      }
      expect(calls).toBe(native && run ? CASES.length : 0);
    });
  }
});

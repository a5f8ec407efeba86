import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend } from '../../src/backend/index.js';
import { rng } from '../../src/core/random.js';
import { BACKBONE_NAMES, createModel, mobilenet, MODEL_NAMES, type ModelName } from '../../src/models/index.js';

const SIZE = 16;
const CLASSES = 4;
const BATCH = 8;

/** A learnable batch: class k has a bright 6x6 patch in quadrant k, plus noise. */
function batch(seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const r = rng(seed, 'zoo-batch');
  const x = new Float32Array(BATCH * SIZE * SIZE * 3);
  const labels: number[] = [];
  for (let b = 0; b < BATCH; b++) {
    const k = b % CLASSES;
    labels.push(k);
    const oy = k < 2 ? 1 : SIZE / 2 + 1;
    const ox = k % 2 === 0 ? 1 : SIZE / 2 + 1;
    for (let y = 0; y < SIZE; y++)
      for (let xx = 0; xx < SIZE; xx++)
        for (let c = 0; c < 3; c++) {
          const on = y >= oy && y < oy + 6 && xx >= ox && xx < ox + 6 ? 1 : 0;
          x[((b * SIZE + y) * SIZE + xx) * 3 + c] = on + 0.3 * r.normal();
        }
  }
  return { xs: tf.tensor4d(x, [BATCH, SIZE, SIZE, 3]), ys: tf.oneHot(labels, CLASSES).toFloat() as tf.Tensor2D };
}

/** The small models: the ImageNet backbones (tens of millions of weights) have their own tests, backbones.test.ts. */
const SMALL = MODEL_NAMES.filter((n) => !BACKBONE_NAMES.includes(n));

const lossOf = (r: number | number[]) => (Array.isArray(r) ? (r[0] as number) : r);

beforeAll(async () => {
  const picked = await resolveBackend('wasm');
  expect(picked.tfBackend).toBe('wasm');
});

describe('model zoo on wasm', () => {
  for (const name of SMALL) {
    it(`${name}: loss falls over a few steps, no tensors leak`, async () => {
      const { xs, ys } = batch(1);
      const model = createModel(name, { inputSize: SIZE, numClasses: CLASSES, seed: 3, learningRate: 3e-3 });
      const losses: number[] = [];
      let afterWarmup = 0;
      for (let step = 0; step < 12; step++) {
        losses.push(lossOf((await model.trainOnBatch(xs, ys)) as number | number[]));
        if (step === 1) afterWarmup = tf.memory().numTensors; // optimizer slots exist from step 1
      }
      expect(tf.memory().numTensors).toBe(afterWarmup);
      const first = losses[0] as number;
      const last = losses[losses.length - 1] as number;
      expect(Number.isFinite(last)).toBe(true);
      console.log(`${name}: loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
      expect(last, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(0.6 * first);
      model.dispose();
      tf.dispose([xs, ys]);
    });
  }

  it('mobilenet with depth multiplier 2 trains too (channel-multiplied depthwise gradients)', async () => {
    const { xs, ys } = batch(3);
    const model = mobilenet({ inputSize: SIZE, numClasses: CLASSES, seed: 4, depthMultiplier: 2, learningRate: 3e-3 });
    const losses: number[] = [];
    for (let step = 0; step < 12; step++) losses.push(lossOf((await model.trainOnBatch(xs, ys)) as number | number[]));
    expect(losses[11] as number, losses.map((l) => l.toFixed(3)).join(' ')).toBeLessThan(0.6 * (losses[0] as number));
    model.dispose();
    tf.dispose([xs, ys]);
  });

  it('builds for any square size and class count', () => {
    for (const name of SMALL) {
      for (const [size, classes] of [
        [7, 3],
        [33, 10],
        [1, 2],
      ] as const) {
        const model = createModel(name as ModelName, { inputSize: size, numClasses: classes, compile: false });
        const y = tf.tidy(() => model.predict(tf.zeros([2, size, size, 3])) as tf.Tensor);
        expect(y.shape, `${name} ${size}px ${classes} classes`).toEqual([2, classes]);
        y.dispose();
        model.dispose();
      }
    }
  });

  it('is reproducible: one seed, one set of weights and one loss curve; another seed differs', async () => {
    const { xs, ys } = batch(2);
    const run = async (seed: number) => {
      const model = createModel('resnet', { inputSize: SIZE, numClasses: CLASSES, seed });
      const w0 = await model.getWeights()[0]!.data();
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) losses.push(lossOf((await model.trainOnBatch(xs, ys)) as number | number[]));
      model.dispose();
      return { w0: Array.from(w0), losses };
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(b.w0).toEqual(a.w0);
    expect(b.losses).toEqual(a.losses);
    expect(c.w0).not.toEqual(a.w0);
    tf.dispose([xs, ys]);
  });

  it('rejects sizes that are not positive integers', () => {
    expect(() => createModel('resnet', { inputSize: 0, numClasses: 3 })).toThrow(/inputSize/);
    expect(() => createModel('mobilenet', { inputSize: 8, numClasses: 2.5 })).toThrow(/numClasses/);
  });
});

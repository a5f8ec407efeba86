import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { parseCommand, UsageError } from '../../src/cli/args.js';
import { DEFAULT_RECIPE, learningRateAt, type Recipe } from '../../src/experiment/plan/recipe.js';
import { applyRecipe } from '../../src/experiment/train/train.js';
import { withRecipeArms } from '../../src/experiment/plan/recipeArms.js';
import { defaultArmRegistry } from '../../src/experiment/plan/arms.js';
import { validateConfig } from '../../src/experiment/plan/validate.js';

const cosine: Recipe = { ...DEFAULT_RECIPE, schedule: 'cosine', warmupEpochs: 1 };

describe('learning-rate schedule', () => {
  it('warms up linearly, then follows the cosine to 0; step divides by 10 every 10 epochs; constant stays', () => {
    // 10 steps per epoch, 5 epochs: warm-up over steps 0..9, cosine over 10..49.
    expect(learningRateAt(cosine, 1, 0, 10, 50)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(cosine, 1, 9, 10, 50)).toBeCloseTo(1, 12);
    expect(learningRateAt(cosine, 1, 10, 10, 50)).toBeCloseTo(1, 12);
    expect(learningRateAt(cosine, 1, 30, 10, 50)).toBeCloseTo(0.5, 12); // half-way through the cosine
    expect(learningRateAt(cosine, 1, 50, 10, 50)).toBeCloseTo(0, 12);
    const step: Recipe = { ...DEFAULT_RECIPE, schedule: 'step' };
    expect(learningRateAt(step, 1, 99, 10, 300)).toBe(1);
    expect(learningRateAt(step, 1, 100, 10, 300)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(step, 1, 200, 10, 300)).toBeCloseTo(0.01, 12);
    expect(learningRateAt(DEFAULT_RECIPE, 0.3, 123, 10, 300)).toBe(0.3);
  });

  it('sets the optimizer learning rate per step and decays kernels, with SGD momentum', () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [2], units: 2, kernelInitializer: 'ones', useBias: true, activation: 'softmax' })],
    });
    model.compile({ optimizer: tf.train.adam(0.5), loss: 'categoricalCrossentropy' });
    const hooks = applyRecipe(model, { ...cosine, optimizer: 'sgd', weightDecay: 0.1 }, 0.5, 10, 5);
    expect(model.optimizer.getClassName()).toBe('Momentum');
    hooks.onBatchBegin();
    expect((model.optimizer as unknown as { learningRate: number }).learningRate).toBeCloseTo(0.05, 12);
    hooks.onBatchEnd();
    const kernel = model.layers[0]!.getWeights()[0]!.dataSync();
    expect(kernel[0]).toBeCloseTo(1 - 0.05 * 0.1, 6);
    expect(model.layers[0]!.getWeights()[1]!.dataSync()[0]).toBe(0); // biases are not decayed
    model.dispose();
  });

  it('parses --optimizer/--schedule/--warmup/--weight-decay, names a bad one, and lists the recipe arms', () => {
    const c = parseCommand(['ablate', '--optimizer', 'sgd', '--schedule', 'cosine', '--warmup', '1', '--weight-decay', '0.0005']);
    expect(c.kind === 'ablate' && c.config.recipe).toMatchObject({
      optimizer: 'sgd',
      schedule: 'cosine',
      warmupEpochs: 1,
      weightDecay: 0.0005,
      momentum: 0.9,
    });
    expect(() => parseCommand(['ablate', '--optimizer', 'rmsprop'])).toThrow(UsageError);
    expect(() => parseCommand(['ablate', '--optimizer', 'rmsprop'])).toThrow(/--optimizer/);
    expect(() => parseCommand(['ablate', '--schedule', 'linear'])).toThrow(/--schedule/);
    // Whether the baseline is one of the arms is the config's validator's to say, once, for CLI and API.
    const noBaseline = parseCommand(['ablate', '--baseline', 'nope']);
    if (noBaseline.kind !== 'ablate') throw new Error('expected ablate');
    expect(() => validateConfig(noBaseline.config, withRecipeArms(defaultArmRegistry()))).toThrow(/--baseline 'nope'/);
    expect(withRecipeArms(defaultArmRegistry()).names()).toEqual(
      expect.arrayContaining(['label-smoothing', 'cutmix-sample', 'mixup-sample']),
    );
  });
});

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend } from '../../src/backend/index.js';
import {
  backboneFootprint,
  backboneLayers,
  createModel,
  HEAD_NAME,
  makeDivisible,
  MOBILENET_V2_ALPHAS,
  mobilenetV2Features,
  resnet50Features,
} from '../../src/models/index.js';

beforeAll(async () => {
  expect((await resolveBackend('wasm')).tfBackend).toBe('wasm');
});

/** Builds `features(input)` as a model with no top (Keras's include_top=False), counts, disposes. */
function noTop(features: (x: tf.SymbolicTensor) => tf.SymbolicTensor, size = 224): { params: number; names: string[]; shape: number[] } {
  const input = tf.input({ shape: [size, size, 3] });
  const model = tf.model({ inputs: input, outputs: features(input) });
  const out = { params: model.countParams(), names: model.layers.map((l) => l.name), shape: model.outputs[0]!.shape as number[] };
  model.dispose();
  return out;
}

describe('Keras-layout backbones', () => {
  it("makeDivisible is Keras's _make_divisible", () => {
    // Values worked by hand from Keras's formula: max(8, int(v + 4) // 8 * 8), plus 8 if that lost > 10%.
    expect([32 * 0.35, 16 * 0.35, 24 * 0.5, 1280 * 1.3, 1280 * 1.4, 3, 12, 20, 44].map((v) => makeDivisible(v))).toEqual([
      16, 8, 16, 1664, 1792, 8, 16, 24, 48,
    ]);
  });

  it('MobileNetV2 alpha 1.0, 224, no top: 2,257,984 parameters as Keras counts, and its layer names', () => {
    const { params, names, shape } = noTop((x) => mobilenetV2Features(x, 1.0));
    expect(params).toBe(2_257_984);
    expect(shape).toEqual([null, 7, 7, 1280]);
    for (const n of [
      'Conv1',
      'bn_Conv1',
      'Conv1_relu',
      'expanded_conv_depthwise',
      'expanded_conv_project_BN',
      'block_1_expand',
      'block_1_pad',
    ])
      expect(names).toContain(n);
    for (const n of ['block_1_depthwise_BN', 'block_2_add', 'block_16_project_BN', 'Conv_1', 'Conv_1_bn', 'out_relu'])
      expect(names).toContain(n);
    expect(names).not.toContain('block_1_add'); // stride 2: no residual
    expect(params).toBe(backboneFootprint('mobilenet-v2', 224, 1.0, 3, 0).params);
  });

  it('MobileNetV2 at every published alpha: the tfjs-free footprint counts what the builder builds', () => {
    for (const alpha of MOBILENET_V2_ALPHAS) {
      const { params } = noTop((x) => mobilenetV2Features(x, alpha), 96);
      expect(params, `alpha ${alpha}`).toBe(backboneFootprint('mobilenet-v2', 96, alpha, 3, 0).params);
    }
    // Keras's figures for alpha 0.35 and 1.4 (include_top=False).
    expect(backboneFootprint('mobilenet-v2', 224, 0.35, 3, 0).params).toBe(410_208);
    expect(backboneFootprint('mobilenet-v2', 224, 1.4, 3, 0).params).toBe(4_363_712);
  });

  it('ResNet50, 224, no top: 23,587,712 parameters as Keras counts, and its layer names', () => {
    const { params, names, shape } = noTop((x) => resnet50Features(x));
    expect(params).toBe(23_587_712);
    expect(shape).toEqual([null, 7, 7, 2048]);
    for (const n of [
      'conv1_pad',
      'conv1_conv',
      'conv1_bn',
      'pool1_pool',
      'conv2_block1_0_conv',
      'conv2_block1_1_conv',
      'conv5_block3_3_bn',
    ])
      expect(names).toContain(n);
    expect(names).not.toContain('conv2_block2_0_conv'); // identity shortcut after the first block
    expect(params).toBe(backboneFootprint('resnet50', 224, 1, 3, 0).params);
  });

  it('the zoo builds both with a new head for the data classes; the head is not backbone', () => {
    for (const name of ['mobilenet-v2', 'resnet50'] as const) {
      const model = createModel(name, { inputSize: 32, numClasses: 120, compile: false });
      const y = tf.tidy(() => model.predict(tf.zeros([1, 32, 32, 3])) as tf.Tensor);
      expect(y.shape).toEqual([1, 120]);
      expect(model.layers[model.layers.length - 1]!.name).toBe(HEAD_NAME);
      expect(backboneLayers(model).some((l) => l.name === HEAD_NAME)).toBe(false);
      expect(model.countParams()).toBe(backboneFootprint(name, 32, 1.0, 3, 120).params);
      y.dispose();
      model.dispose();
    }
  });
});

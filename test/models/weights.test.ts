import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend } from '../../src/backend/index.js';
import { createModel, HEAD_NAME, loadWeights } from '../../src/models/index.js';
import { fileSha256 } from '../../src/models/weightFiles.js';
import { tempDir } from '../helpers.js';
import { haveH5py, layersOf, maxWeightDifference, writeKerasH5, writeTfjsModel } from './kerasFiles.js';

const notHead = (n: string): boolean => n !== HEAD_NAME;
const build = (name: 'mobilenet-v2' | 'resnet50', seed: number, modelOptions: Record<string, unknown> = { alpha: 0.35 }): tf.LayersModel =>
  createModel(name, { ...modelOptions, inputSize: 32, numClasses: 5, seed, compile: false } as never);

beforeAll(async () => {
  expect((await resolveBackend('wasm')).tfBackend).toBe('wasm');
});

describe('pretrained weights by layer name', () => {
  const h5 = haveH5py();

  for (const layout of ['applications', 'model', 'keras3'] as const)
    it.runIf(h5)(`a Keras .h5 in the ${layout} layout (python3-h5py) loads into mobilenet-v2 layer for layer`, async () => {
      const dir = await tempDir();
      const source = build('mobilenet-v2', 7);
      const withHead = layout === 'keras3';
      // The file Keras would write for the source model; without the head (imagenet's no-top files) but with a
      // 1000-class 'predictions' the model lacks, except in keras3, which carries the head.
      const extra = {
        name: 'predictions',
        weights: [{ name: 'kernel', shape: [1280, 1000], values: new Float32Array(1_280_000).fill(9) }],
      };
      const layers = withHead ? layersOf(source) : [...layersOf(source, notHead), extra];
      const file = path.join(dir, 'w.h5');
      await writeKerasH5(file, layers, layout);
      const target = build('mobilenet-v2', 8);
      const headBefore = target.getLayer(HEAD_NAME).getWeights()[0]!.dataSync().slice();
      const before = maxWeightDifference(source, target, notHead);
      expect(before.max).toBeGreaterThan(0.01); // two seeds: the weights differ before loading
      const loaded = await loadWeights(target, file);
      const after = maxWeightDifference(source, target, notHead);
      console.log(`${layout}: ${after.layers} layers, max |difference| ${after.max}`);
      expect(after).toEqual({ max: 0, layers: before.layers });
      expect(loaded).toMatchObject({ layout, head: withHead ? 'loaded' : 'new', sha256: await fileSha256(file) });
      const head = target.getLayer(HEAD_NAME).getWeights()[0]!.dataSync();
      if (withHead) {
        expect(maxWeightDifference(source, target, (n) => n === HEAD_NAME).max).toBe(0);
        const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
        const [ya, yb] = [source, target].map((m) => m.predict(x) as tf.Tensor);
        expect(Array.from(yb!.dataSync())).toEqual(Array.from(ya!.dataSync()));
        tf.dispose([x, ya!, yb!]);
      } else expect(Array.from(head)).toEqual(Array.from(headBefore));
      source.dispose();
      target.dispose();
    });

  it.runIf(h5)('resnet50: a keras.applications-layout .h5 round-trips every one of its 23.5 M backbone weights', async () => {
    const dir = await tempDir();
    const source = build('resnet50', 1, {});
    const file = path.join(dir, 'resnet50_notop.h5');
    await writeKerasH5(file, layersOf(source, notHead), 'applications');
    const target = build('resnet50', 2, {});
    const loaded = await loadWeights(target, file);
    const after = maxWeightDifference(source, target, notHead);
    console.log(`resnet50: ${after.layers} layers, max |difference| ${after.max}`);
    expect(after.max).toBe(0);
    expect(loaded.layers).toBe(after.layers);
    expect(after.layers).toBe(106); // 53 convs + 53 batch norms
    source.dispose();
    target.dispose();
  });

  it('a tfjs model.json with its shards loads by layer name, the head too when it fits', async () => {
    const dir = await tempDir();
    const source = build('mobilenet-v2', 3);
    const file = await writeTfjsModel(source, dir);
    const target = build('mobilenet-v2', 4);
    const loaded = await loadWeights(target, file);
    expect(maxWeightDifference(source, target, () => true).max).toBe(0);
    expect(loaded).toMatchObject({ layout: 'tfjs', head: 'loaded' });
    // Into a model for 7 classes: the backbone loads, the head stays new.
    const seven = createModel('mobilenet-v2', { alpha: 0.35, inputSize: 32, numClasses: 7, seed: 4, compile: false } as never);
    expect(await loadWeights(seven, file)).toMatchObject({ head: 'new' });
    expect(maxWeightDifference(source, seven, notHead).max).toBe(0);
    [source, target, seven].forEach((m) => m.dispose());
  });
});

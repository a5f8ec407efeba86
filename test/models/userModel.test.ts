import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { rng } from '../../src/core/random.js';
import type { ImageSample } from '../../src/core/types.js';
import { DEFAULT_CONFIG } from '../../src/experiment/plan/config.js';
import type { AblationData } from '../../src/experiment/data/data.js';
import type { SourceSample } from '../../src/experiment/data/pipeline.js';
import { runAblation } from '../../src/experiment/run/runAblation.js';
import { loadUserModel, readModelFiles } from '../../src/models/userModel.js';
import { pullSource } from '../../src/sources/pullSource.js';
import { tempDir } from '../helpers.js';

/** Saves a small conv model with 3 outputs the way model.save('file://...') lays it out. */
async function saveSmallModel(dir: string): Promise<{ file: string; weights: Float32Array[] }> {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [4, 4, 3],
        filters: 2,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      await writeFile(path.join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      await writeFile(
        path.join(dir, 'model.json'),
        JSON.stringify({
          modelTopology: a.modelTopology,
          format: a.format,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return { file: path.join(dir, 'model.json'), weights };
}

const data = (classes: number): AblationData => {
  const make = (n: number, split: string): ImageSample[] =>
    Array.from({ length: n }, (_, i) => {
      const r = rng(3, split, i);
      return {
        image: Float32Array.from({ length: 48 }, () => r.next()),
        height: 4,
        width: 4,
        channels: 3,
        label: i % classes,
        numClasses: classes,
        origin: `${split}/${i}`,
        epoch: 0,
        index: i,
      };
    });
  const train = make(16, 'train');
  const val = make(8, 'val');
  return {
    location: 'memory',
    kind: 'memory',
    classes: Array.from({ length: classes }, (_, c) => `c${c}`),
    trainCount: 16,
    validationCount: 8,
    fingerprint: 'm',
    train: (seed) =>
      pullSource(function* (epoch) {
        for (const [index, s] of rng(seed, 'o', epoch)
          .shuffle([...train])
          .entries())
          yield { ...s, epoch, index } as SourceSample;
      }),
    validation: () => pullSource(() => val as SourceSample[]),
  };
};

describe('--model path/to/model.json', () => {
  it('starts from the saved weights, with a seeded new head when the classes differ', async () => {
    const dir = await tempDir();
    const { file, weights } = await saveSmallModel(dir);
    const files = await readModelFiles(file);
    const same = await loadUserModel(files, { inputSize: 4, numClasses: 3, seed: 1, learningRate: 0.01 });
    same.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(weights[i]!)));
    const a = await loadUserModel(files, { inputSize: 4, numClasses: 5, seed: 1, learningRate: 0.01 });
    const b = await loadUserModel(files, { inputSize: 4, numClasses: 5, seed: 1, learningRate: 0.01 });
    const c = await loadUserModel(files, { inputSize: 4, numClasses: 5, seed: 2, learningRate: 0.01 });
    expect(a.outputs[0]!.shape).toEqual([null, 5]);
    expect(Array.from(a.getWeights()[0]!.dataSync())).toEqual(Array.from(weights[0]!)); // the conv kernel is the saved one
    const head = (m: tf.LayersModel) => Array.from(m.getWeights()[m.getWeights().length - 2]!.dataSync());
    expect(head(a)).toEqual(head(b));
    expect(head(a)).not.toEqual(head(c));
    await expect(loadUserModel(files, { inputSize: 8, numClasses: 3, seed: 1, learningRate: 0.01 })).rejects.toThrow(/--size/);
    for (const m of [same, a, b, c]) m.dispose();
  });

  it('runs an ablation from it, and names a missing file', async () => {
    const dir = await tempDir();
    const { file } = await saveSmallModel(dir);
    const run = await runAblation(
      {
        ...DEFAULT_CONFIG,
        modelFile: file,
        arms: ['baseline', 'augment'],
        seeds: [1],
        epochs: 1,
        size: 4,
        batchSize: 8,
        shuffleWindow: 4,
        backend: 'wasm',
        out: path.join(dir, 'out'),
      },
      { data: data(2) },
    );
    expect(run.results.runs.map((r) => r.model.name)).toEqual(['file:model.json', 'file:model.json']);
    await expect(
      runAblation({ ...DEFAULT_CONFIG, modelFile: path.join(dir, 'missing.json'), out: path.join(dir, 'x') }, { data: data(2) }),
    ).rejects.toThrow(/--model: cannot read/);
  });
});

/**
 * The reference notebook's `apply_normalize_on_dataset` as a composition, trained with fitDataset:
 * a small generated image folder, a train/validation split, flip + brightness, a shuffle window,
 * batches of 16, CutMix, prefetch, and a small CNN for 2 epochs on the fastest backend that loads
 * (wasm here, with mixstream's training kernels).
 *
 *   node --import tsx examples/train.ts [image-folder]
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  augment,
  batch,
  cutmix,
  imageFolder,
  normalizeResize,
  oneHot,
  prefetch,
  resolveBackend,
  shuffleWindow,
  toTfDataset,
} from '../src/index.js';
import { writeSyntheticFolder } from '../src/sources/synthetic.js';

export interface TrainExampleOptions {
  readonly root?: string;
  readonly size?: number;
  readonly epochs?: number;
}

export async function main(options: TrainExampleOptions = {}): Promise<tf.History> {
  const { size = 32, epochs = 2 } = options;
  const root = options.root ?? path.join(os.tmpdir(), 'mixstream-example-folder');
  if (!options.root) await writeSyntheticFolder(root, { classes: 4, perClass: 24, seed: 7, minSide: 40, maxSide: 90 });
  await resolveBackend();

  const split = { seed: 1, validationSplit: 0.25 } as const;
  const train$ = imageFolder(root, split).pipe(
    normalizeResize({ size }),
    augment({ flip: 'horizontal', brightness: 0.2, seed: 1 }),
    shuffleWindow(32, { seed: 1 }),
    batch(16),
    cutmix({ alpha: 1, seed: 1 }), // or mixup({ alpha: 0.2 }), or oneHot()
    prefetch(2),
  );
  const val$ = imageFolder(root, { ...split, subset: 'validation', shuffle: false }).pipe(normalizeResize({ size }), batch(16), oneHot());

  const numClasses = 4;
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [size, size, 3],
        filters: 8,
        kernelSize: 3,
        strides: 2,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        strides: 2,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: numClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const history = await model.fitDataset(toTfDataset(train$), { epochs, validationData: toTfDataset(val$), verbose: 0 });
  model.dispose();
  return history;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = process.argv[2];
  const history = await main(root ? { root } : {});
  console.log(JSON.stringify(history.history));
}

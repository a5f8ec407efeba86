/** A two-conv baseline: the smallest net worth training, for smoke tests and pipeline benches. */
import tf from '#tfjs';
import { checkOptions, DEFAULT_MODEL_SEED, finish, SeededInit, type ModelOptions } from './common.js';

/** Options for simpleCnn. */
export interface SimpleCnnOptions extends ModelOptions {
  /** Filters of the two conv layers (default [32, 64]). */
  readonly filters?: readonly [number, number];
  /** Units of the hidden dense layer (default 128). */
  readonly hidden?: number;
}

/** conv-relu-pool x2, flatten, dense-relu, softmax: cheap enough to train on cpu for comparison. */
export function simpleCnn(o: SimpleCnnOptions): tf.LayersModel {
  const { size, classes, channels } = checkOptions('simple-cnn', o);
  const init = new SeededInit(o.seed ?? DEFAULT_MODEL_SEED, 'simple-cnn');
  const [f1, f2] = o.filters ?? [32, 64];
  const model = tf.sequential({ name: 'simple_cnn' });
  model.add(
    tf.layers.conv2d({
      inputShape: [size, size, channels],
      filters: f1,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init.he(),
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }));
  model.add(tf.layers.conv2d({ filters: f2, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init.he() }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: o.hidden ?? 128, activation: 'relu', kernelInitializer: init.he() }));
  model.add(tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init.glorot() }));
  return finish(model, o);
}

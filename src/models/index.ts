/** The model zoo: small image classifiers that train on every backend resolveBackend can pick. */
import type * as tf from '@tensorflow/tfjs';
import type { ModelOptions } from './common.js';
import { mobilenet } from './mobilenet.js';
import { resnet } from './resnet.js';
import { MODEL_NAMES, type ModelName } from './names.js';
import { simpleCnn } from './simpleCnn.js';

export { compileClassifier, DEFAULT_MODEL_SEED, SeededInit } from './common.js';
export type { ModelOptions } from './common.js';
export { mobilenet } from './mobilenet.js';
export type { MobileNetOptions } from './mobilenet.js';
export { resnet } from './resnet.js';
export type { ResNetOptions } from './resnet.js';
export { simpleCnn } from './simpleCnn.js';
export type { SimpleCnnOptions } from './simpleCnn.js';

export { MODEL_NAMES, type ModelName } from './names.js';

/** Builds a zoo model by name with its defaults, so callers pick architectures from config strings. */
export function createModel(name: ModelName, options: ModelOptions): tf.LayersModel {
  switch (name) {
    case 'simple-cnn':
      return simpleCnn(options);
    case 'resnet':
      return resnet(options);
    case 'mobilenet':
      return mobilenet(options);
    default:
      throw new Error(`createModel: unknown model '${String(name)}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
}
export { loadUserModel, readModelFiles } from './userModel.js';
export type { ModelFiles } from './userModel.js';

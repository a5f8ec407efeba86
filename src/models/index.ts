/**
 * The model zoo: small image classifiers that train on every backend resolveBackend can pick, and
 * the standard ImageNet backbones (MobileNetV2, ResNet-50) whose Keras weights load by layer name.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelOptions } from './common.js';
import { mobilenet } from './mobilenet.js';
import { mobilenetV2 } from './mobilenetV2.js';
import { resnet50 } from './resnet50.js';
import { resnet } from './resnet.js';
import { MODEL_NAMES, type ModelName } from './names.js';
import { simpleCnn } from './simpleCnn.js';

export { compileClassifier, DEFAULT_MODEL_SEED, SeededInit } from './common.js';
export type { ModelOptions } from './common.js';
export { mobilenet } from './mobilenet.js';
export type { MobileNetOptions } from './mobilenet.js';
export { resnet } from './resnet.js';
export type { ResNetOptions } from './resnet.js';
export { mobilenetV2, mobilenetV2Features } from './mobilenetV2.js';
export { backboneFootprint, makeDivisible, MOBILENET_V2_ALPHAS } from './architectures.js';
export type { MobileNetV2Options } from './mobilenetV2.js';
export { resnet50, resnet50Features } from './resnet50.js';
export type { ResNet50Options } from './resnet50.js';
export { backboneLayers, classifierHead, DEFAULT_PREPROCESS, HEAD_NAME, isBackbone } from './backbone.js';
export type { BackboneName } from './backbone.js';
export { simpleCnn } from './simpleCnn.js';
export type { SimpleCnnOptions } from './simpleCnn.js';

export { BACKBONE_NAMES, MODEL_NAMES, type ModelName } from './names.js';

/** Builds a zoo model by name with its defaults, so callers pick architectures from config strings. */
export function createModel(name: ModelName, options: ModelOptions): tf.LayersModel {
  switch (name) {
    case 'simple-cnn':
      return simpleCnn(options);
    case 'resnet':
      return resnet(options);
    case 'mobilenet':
      return mobilenet(options);
    case 'mobilenet-v2':
      return mobilenetV2(options);
    case 'resnet50':
      return resnet50(options);
    default:
      throw new Error(`createModel: unknown model '${String(name)}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
}
export { loadUserModel, readModelFiles } from './userModel.js';
export type { ModelFiles } from './userModel.js';
export { applyWeights, expectedLayers, loadWeights, readWeightsFor, WeightsError } from './weights.js';
export type { LoadedWeights } from './weights.js';
export { DownloadError, fetchWeights, imagenetWeights, KERAS_WEIGHTS_URLS, resolveWeights, weightsCacheDir } from './imagenet.js';
export type { FetchedWeights, FetchWeightsOptions, PublishedWeights, ResolvedWeights } from './imagenet.js';
export {
  applyFineTune,
  BackboneLrOptimizer,
  backboneVariableNames,
  checkFineTune,
  inferenceWhenFrozen,
  isFrozen,
  setBackboneTrainable,
  splitHead,
  trainedWeights,
} from './finetune.js';
export type { FineTunePolicy } from './finetune.js';

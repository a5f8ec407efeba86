/**
 * What the standard backbones (keras.applications' architectures, layer name for layer name)
 * share: the new classification head for the data's classes, which layers are "backbone" and
 * which are head, and the preprocessing each backbone's published weights were trained with.
 */
import tf from '#tfjs';
import type { PreprocessMode } from '../core/preprocess.js';
import { SeededInit } from './common.js';

/** Prefix of the layers mixstream adds on top of a backbone: never part of a Keras weights file. */
export const HEAD_PREFIX = 'mixstream_';
/** The softmax layer for the data's classes (also the name userModel's replacement head takes). */
export const HEAD_NAME = `${HEAD_PREFIX}head`;

/** Names of the standard backbones (a subset of MODEL_NAMES). */
export type BackboneName = 'mobilenet-v2' | 'resnet50';

/** The preprocessing each backbone's imagenet weights expect (keras.applications' preprocess_input). */
export const DEFAULT_PREPROCESS: Readonly<Record<BackboneName, PreprocessMode>> = {
  'mobilenet-v2': 'tf',
  resnet50: 'caffe',
};

/** Whether `name` is one of the standard backbones. */
export const isBackbone = (name: string): name is BackboneName => name === 'mobilenet-v2' || name === 'resnet50';

/**
 * Global average pooling, then a dense softmax of `classes` units (Keras's include_top head, fresh
 * and seeded), named so a weights file's own 'predictions' layer is never loaded into it by mistake.
 */
export function classifierHead(features: tf.SymbolicTensor, classes: number, seed: number, model: string): tf.SymbolicTensor {
  const init = new SeededInit(seed, `${model}-head`);
  const pooled = tf.layers.globalAveragePooling2d({ name: `${HEAD_PREFIX}pool` }).apply(features) as tf.SymbolicTensor;
  return tf.layers
    .dense({ units: classes, activation: 'softmax', kernelInitializer: init.glorot(), name: HEAD_NAME })
    .apply(pooled) as tf.SymbolicTensor;
}

/** The backbone's layers with weights: every layer but the input and the head mixstream added. */
export function backboneLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => !l.name.startsWith(HEAD_PREFIX) && l.weights.length > 0);
}

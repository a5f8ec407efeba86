/**
 * The 224-px benches' models: the zoo's keras.applications-exact backbones (src/models), with a
 * 120-class head, as the lecture trains them.
 */
import type * as tf from '@tensorflow/tfjs';
import { backboneLayers, mobilenetV2, resnet50 } from '../src/models/index.js';

/** Keras's MobileNetV2 (alpha 1.0 unless given) at `size`, with a new `classes`-way head. */
export function mobileNetV2Keras(size: number, classes: number, alpha = 1.0): tf.LayersModel {
  return mobilenetV2({ inputSize: size, numClasses: classes, alpha });
}

/** Keras's ResNet50 at `size`, with a new `classes`-way head. */
export function resNet50Keras(size: number, classes: number): tf.LayersModel {
  return resnet50({ inputSize: size, numClasses: classes });
}

/** Parameters of the model without its head, as Keras counts include_top=False. */
export function backboneParams(model: tf.LayersModel): number {
  return backboneLayers(model).reduce((n, l) => n + l.countParams(), 0);
}

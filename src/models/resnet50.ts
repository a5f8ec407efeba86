/**
 * ResNet-50 (He et al. 2016, v1 with the stride on the first 1x1 conv, as Keras builds it) layer
 * for layer as keras.applications.ResNet50, with its layer names (conv1_conv, conv1_bn,
 * conv2_block1_0_conv, ..., conv5_block3_3_bn), so Keras's own .h5 weights load by name. Keras's
 * top is replaced by a fresh head for the data's classes (backbone.ts).
 */
import tf from '#tfjs';
import { RESNET50_STAGES } from './architectures.js';
import { classifierHead } from './backbone.js';
import { checkOptions, DEFAULT_MODEL_SEED, finish, SeededInit, type ModelOptions } from './common.js';

/** Options for resnet50 (none of its own: the architecture is fixed). */
export type ResNet50Options = ModelOptions;

type Sym = tf.SymbolicTensor;

const bn = (x: Sym, name: string): Sym =>
  tf.layers.batchNormalization({ axis: -1, epsilon: 1.001e-5, momentum: 0.99, name }).apply(x) as Sym;
const relu = (x: Sym, name: string): Sym => tf.layers.activation({ activation: 'relu', name }).apply(x) as Sym;

function conv(
  x: Sym,
  filters: number,
  kernelSize: number,
  strides: number,
  name: string,
  init: SeededInit,
  padding: 'same' | 'valid' = 'valid',
): Sym {
  return tf.layers.conv2d({ filters, kernelSize, strides, padding, useBias: true, kernelInitializer: init.glorot(), name }).apply(x) as Sym;
}

/** Keras's block1: 1x1 (strided) / 3x3 / 1x1 x4 bottleneck, with a 1x1 projection shortcut in the first block of a stage. */
function bottleneck(x: Sym, filters: number, stride: number, projection: boolean, name: string, init: SeededInit): Sym {
  const shortcut = projection ? bn(conv(x, 4 * filters, 1, stride, `${name}_0_conv`, init), `${name}_0_bn`) : x;
  let y = relu(bn(conv(x, filters, 1, stride, `${name}_1_conv`, init), `${name}_1_bn`), `${name}_1_relu`);
  y = relu(bn(conv(y, filters, 3, 1, `${name}_2_conv`, init, 'same'), `${name}_2_bn`), `${name}_2_relu`);
  y = bn(conv(y, 4 * filters, 1, 1, `${name}_3_conv`, init), `${name}_3_bn`);
  return relu(tf.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as Sym, `${name}_out`);
}

/** The features (Keras's include_top=False output, conv5_block3_out) of ResNet-50 on `input`. */
export function resnet50Features(input: Sym, seed = DEFAULT_MODEL_SEED): Sym {
  const init = new SeededInit(seed, 'resnet50');
  let x = tf.layers
    .zeroPadding2d({
      padding: [
        [3, 3],
        [3, 3],
      ],
      name: 'conv1_pad',
    })
    .apply(input) as Sym;
  x = relu(bn(conv(x, 64, 7, 2, 'conv1_conv', init), 'conv1_bn'), 'conv1_relu');
  x = tf.layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'pool1_pad',
    })
    .apply(x) as Sym;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x) as Sym;
  for (const [stage, filters, blocks, stride] of RESNET50_STAGES)
    for (let b = 1; b <= blocks; b++) x = bottleneck(x, filters, b === 1 ? stride : 1, b === 1, `${stage}_block${b}`, init);
  return x;
}

/**
 * ResNet-50 with a new softmax head for `numClasses` classes; weights random (seeded) until
 * loadWeights fills the backbone.
 *
 * @example
 * const model = resnet50({ inputSize: 224, numClasses: 120 });
 */
export function resnet50(o: ResNet50Options): tf.LayersModel {
  const { size, classes, channels } = checkOptions('resnet50', o);
  const seed = o.seed ?? DEFAULT_MODEL_SEED;
  const input = tf.input({ shape: [size, size, channels], name: 'input_1' });
  const output = classifierHead(resnet50Features(input, seed), classes, seed, 'resnet50');
  return finish(tf.model({ inputs: input, outputs: output, name: 'resnet50' }), o);
}

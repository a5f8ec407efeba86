/**
 * MobileNetV2 (Sandler et al. 2018) built layer for layer as keras.applications.MobileNetV2 does,
 * with its layer names (Conv1, bn_Conv1, expanded_conv_depthwise, block_1_expand, ..., Conv_1,
 * Conv_1_bn), so Keras's own .h5 weights load by name. Keras's top is replaced by a fresh head for
 * the data's classes (backbone.ts).
 */
import tf from '#tfjs';
import { classifierHead } from './backbone.js';
import { MOBILENET_V2_BLOCKS, mobilenetV2BlockFilters, mobilenetV2LastFilters, mobilenetV2StemFilters } from './architectures.js';
import { checkOptions, DEFAULT_MODEL_SEED, finish, SeededInit, type ModelOptions } from './common.js';

/** Options for mobilenetV2. */
export interface MobileNetV2Options extends ModelOptions {
  /** Width multiplier (default 1.0); Keras publishes imagenet weights for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4. */
  readonly alpha?: number;
}

type Sym = tf.SymbolicTensor;

/** Keras's imagenet_utils.correct_pad for a 3x3 stride-2 conv: pad bottom/right only when the side is even. */
function correctPad(x: Sym): [[number, number], [number, number]] {
  const [, h, w] = x.shape;
  const adjust = (s: number | null): number => (s === null ? 1 : 1 - (s % 2));
  return [
    [1 - adjust(h ?? null), 1],
    [1 - adjust(w ?? null), 1],
  ];
}

interface Layers {
  readonly init: SeededInit;
}

const bn = (x: Sym, name: string): Sym => tf.layers.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name }).apply(x) as Sym;
const relu6 = (x: Sym, name: string): Sym => tf.layers.reLU({ maxValue: 6, name }).apply(x) as Sym;
const conv1x1 = (x: Sym, filters: number, name: string, l: Layers): Sym =>
  tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: l.init.glorot(), name }).apply(x) as Sym;

/** Keras's _inverted_res_block: 1x1 expand (not in block 0), 3x3 depthwise, 1x1 linear project, residual add when shapes allow. */
function invertedResBlock(inputs: Sym, expansion: number, stride: number, alpha: number, filters: number, id: number, l: Layers): Sym {
  const inChannels = inputs.shape[inputs.shape.length - 1] as number;
  const pointwise = mobilenetV2BlockFilters(filters, alpha);
  let x = inputs;
  let prefix = `block_${id}_`;
  if (id > 0) {
    x = relu6(bn(conv1x1(x, expansion * inChannels, `${prefix}expand`, l), `${prefix}expand_BN`), `${prefix}expand_relu`);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) x = tf.layers.zeroPadding2d({ padding: correctPad(x), name: `${prefix}pad` }).apply(x) as Sym;
  x = tf.layers
    .depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      padding: stride === 1 ? 'same' : 'valid',
      useBias: false,
      depthwiseInitializer: l.init.glorot(),
      name: `${prefix}depthwise`,
    })
    .apply(x) as Sym;
  x = relu6(bn(x, `${prefix}depthwise_BN`), `${prefix}depthwise_relu`);
  x = bn(conv1x1(x, pointwise, `${prefix}project`, l), `${prefix}project_BN`);
  return inChannels === pointwise && stride === 1 ? (tf.layers.add({ name: `${prefix}add` }).apply([inputs, x]) as Sym) : x;
}

/** The features (Keras's include_top=False output, after out_relu) of MobileNetV2 on `input`. */
export function mobilenetV2Features(input: Sym, alpha = 1.0, seed = DEFAULT_MODEL_SEED): Sym {
  if (!(alpha > 0)) throw new RangeError(`mobilenet-v2: alpha must be > 0, got ${alpha}`);
  const l: Layers = { init: new SeededInit(seed, 'mobilenet-v2') };
  let x = tf.layers
    .conv2d({
      filters: mobilenetV2StemFilters(alpha),
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: l.init.glorot(),
      name: 'Conv1',
    })
    .apply(input) as Sym;
  x = relu6(bn(x, 'bn_Conv1'), 'Conv1_relu');
  MOBILENET_V2_BLOCKS.forEach(([filters, stride, expansion], id) => {
    x = invertedResBlock(x, expansion, stride, alpha, filters, id, l);
  });
  x = conv1x1(x, mobilenetV2LastFilters(alpha), 'Conv_1', l);
  return relu6(bn(x, 'Conv_1_bn'), 'out_relu');
}

/**
 * MobileNetV2 with a new softmax head for `numClasses` classes; weights random (seeded) until
 * loadWeights fills the backbone from a Keras .h5 or tfjs model.json.
 *
 * @example
 * const model = mobilenetV2({ inputSize: 224, numClasses: 120, alpha: 1.0 });
 * await loadWeights(model, await resolveWeights('imagenet', { model: 'mobilenet-v2', alpha: 1.0, size: 224 }));
 */
export function mobilenetV2(o: MobileNetV2Options): tf.LayersModel {
  const { size, classes, channels } = checkOptions('mobilenet-v2', o);
  const alpha = o.alpha ?? 1.0;
  const seed = o.seed ?? DEFAULT_MODEL_SEED;
  const input = tf.input({ shape: [size, size, channels], name: 'input_1' });
  const output = classifierHead(mobilenetV2Features(input, alpha, seed), classes, seed, 'mobilenet-v2');
  return finish(tf.model({ inputs: input, outputs: output, name: `mobilenetv2_${alpha.toFixed(2)}_${size}` }), o);
}

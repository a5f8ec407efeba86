/**
 * Bench-local builders of keras.applications' MobileNetV2 (alpha 1.0) and ResNet-50, layer for
 * layer as Keras lays them out (same layer names, paddings, biases, batch-norm epsilons), with a new
 * softmax head: what bench/train.ts times at 224x224 until src/models carries the backbones (the
 * `backbones` branch), at which point the bench switches to those. Weights are tfjs's default
 * initializers: the rate does not depend on the values.
 *   MobileNetV2 alpha 1.0, 224, no top: 2,257,984 parameters; ResNet-50, no top: 23,587,712.
 */
import * as tf from '@tensorflow/tfjs';

type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** Keras's _make_divisible. */
function divisible(v: number, divisor = 8): number {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}

function bn(x: Sym, name: string, epsilon: number, momentum: number): Sym {
  return apply(tf.layers.batchNormalization({ axis: -1, epsilon, momentum, name }), x);
}

/** keras.applications.MobileNetV2(alpha=1.0, include_top=False) + global pooling + a softmax head. */
export function mobileNetV2Keras(size: number, classes: number, alpha = 1.0): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  const relu6 = (x: Sym, name: string): Sym => apply(tf.layers.reLU({ maxValue: 6, name }), x);
  const b = (x: Sym, name: string): Sym => bn(x, name, 1e-3, 0.999);
  let x = apply(
    tf.layers.conv2d({ filters: divisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }),
    input,
  );
  x = relu6(b(x, 'bn_Conv1'), 'Conv1_relu');
  let inC = divisible(32 * alpha);
  let id = 0;
  const block = (filters: number, stride: number, expansion: number): void => {
    const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    const out = divisible(filters * alpha);
    let h = x;
    if (id !== 0) {
      h = apply(tf.layers.conv2d({ filters: expansion * inC, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }), h);
      h = relu6(b(h, `${prefix}expand_BN`), `${prefix}expand_relu`);
    }
    if (stride === 2)
      h = apply(
        tf.layers.zeroPadding2d({
          padding: [
            [0, 1],
            [0, 1],
          ],
          name: `${prefix}pad`,
        }),
        h,
      );
    h = apply(
      tf.layers.depthwiseConv2d({
        kernelSize: 3,
        strides: stride,
        padding: stride === 1 ? 'same' : 'valid',
        useBias: false,
        name: `${prefix}depthwise`,
      }),
      h,
    );
    h = relu6(b(h, `${prefix}depthwise_BN`), `${prefix}depthwise_relu`);
    h = apply(tf.layers.conv2d({ filters: out, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }), h);
    h = b(h, `${prefix}project_BN`);
    x = inC === out && stride === 1 ? apply(tf.layers.add({ name: `${prefix}add` }), [x, h]) : h;
    inC = out;
    id++;
  };
  block(16, 1, 1);
  for (const [f, n, s] of [
    [24, 2, 2],
    [32, 3, 2],
    [64, 4, 2],
    [96, 3, 1],
    [160, 3, 2],
    [320, 1, 1],
  ] as const)
    for (let i = 0; i < n; i++) block(f, i === 0 ? s : 1, 6);
  const last = alpha > 1.0 ? divisible(1280 * alpha) : 1280;
  x = apply(tf.layers.conv2d({ filters: last, kernelSize: 1, useBias: false, name: 'Conv_1' }), x);
  x = relu6(b(x, 'Conv_1_bn'), 'out_relu');
  x = apply(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  const y = apply(tf.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }), x);
  return tf.model({ inputs: input, outputs: y, name: `mobilenetv2_${alpha.toFixed(2)}_${size}` });
}

/** keras.applications.ResNet50(include_top=False) + global pooling + a softmax head. */
export function resNet50Keras(size: number, classes: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  const b = (x: Sym, name: string): Sym => bn(x, name, 1.001e-5, 0.99);
  const relu = (x: Sym, name: string): Sym => apply(tf.layers.activation({ activation: 'relu', name }), x);
  const conv = (x: Sym, filters: number, k: number, strides: number, name: string, padding: 'same' | 'valid' = 'valid'): Sym =>
    apply(tf.layers.conv2d({ filters, kernelSize: k, strides, padding, name }), x);
  let x = apply(tf.layers.zeroPadding2d({ padding: 3, name: 'conv1_pad' }), input);
  x = relu(b(conv(x, 64, 7, 2, 'conv1_conv'), 'conv1_bn'), 'conv1_relu');
  x = apply(tf.layers.zeroPadding2d({ padding: 1, name: 'pool1_pad' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }), x);
  const block = (filters: number, stride: number, shortcutConv: boolean, name: string): void => {
    const shortcut = shortcutConv ? b(conv(x, 4 * filters, 1, stride, `${name}_0_conv`), `${name}_0_bn`) : x;
    let h = relu(b(conv(x, filters, 1, stride, `${name}_1_conv`), `${name}_1_bn`), `${name}_1_relu`);
    h = relu(b(conv(h, filters, 3, 1, `${name}_2_conv`, 'same'), `${name}_2_bn`), `${name}_2_relu`);
    h = b(conv(h, 4 * filters, 1, 1, `${name}_3_conv`), `${name}_3_bn`);
    x = relu(apply(tf.layers.add({ name: `${name}_add` }), [shortcut, h]), `${name}_out`);
  };
  for (const [filters, blocks, stride, stack] of [
    [64, 3, 1, 2],
    [128, 4, 2, 3],
    [256, 6, 2, 4],
    [512, 3, 2, 5],
  ] as const)
    for (let i = 0; i < blocks; i++) block(filters, i === 0 ? stride : 1, i === 0, `conv${stack}_block${i + 1}`);
  x = apply(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  const y = apply(tf.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }), x);
  return tf.model({ inputs: input, outputs: y, name: 'resnet50' });
}

/** Parameters of the model without its head (the last Dense layer), as Keras counts include_top=False. */
export function backboneParams(model: tf.LayersModel): number {
  const head = model.layers[model.layers.length - 1]!;
  return model.countParams() - head.countParams();
}

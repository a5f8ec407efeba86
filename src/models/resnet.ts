/**
 * A CIFAR-style ResNet (He et al. 2016, section 4.2): 3x3 stem, three stages of basic residual
 * blocks with batch norm, stride-2 convs and 1x1 projection shortcuts between stages, global
 * average pooling. The depth-8 default is what the wasm-vs-cpu bench trains.
 */
import tf from '#tfjs';
import { checkOptions, DEFAULT_MODEL_SEED, finish, SeededInit, type ModelOptions } from './common.js';

/** Options for resnet. */
export interface ResNetOptions extends ModelOptions {
  /** Basic blocks per stage: 1 gives ResNet-8, 3 gives ResNet-20 (default 1). */
  readonly blocksPerStage?: number;
  /** Filters of the three stages (default [16, 32, 64]). */
  readonly widths?: readonly number[];
}

type Sym = tf.SymbolicTensor;

function convBn(x: Sym, filters: number, kernelSize: number, strides: number, init: SeededInit, relu: boolean): Sym {
  let y = tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init.he() }).apply(x) as Sym;
  y = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(y) as Sym;
  return relu ? (tf.layers.activation({ activation: 'relu' }).apply(y) as Sym) : y;
}

function basicBlock(x: Sym, filters: number, strides: number, init: SeededInit): Sym {
  const inFilters = x.shape[x.shape.length - 1];
  const y = convBn(convBn(x, filters, 3, strides, init, true), filters, 3, 1, init, false);
  const shortcut = strides !== 1 || inFilters !== filters ? convBn(x, filters, 1, strides, init, false) : x;
  const sum = tf.layers.add().apply([y, shortcut]) as Sym;
  return tf.layers.activation({ activation: 'relu' }).apply(sum) as Sym;
}

/** Residual adds and batch norm: the architecture most likely to expose a wrong gradient kernel. */
export function resnet(o: ResNetOptions): tf.LayersModel {
  const { size, classes, channels } = checkOptions('resnet', o);
  const blocks = o.blocksPerStage ?? 1;
  const widths = o.widths ?? [16, 32, 64];
  if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError(`resnet: blocksPerStage must be a positive integer, got ${blocks}`);
  const init = new SeededInit(o.seed ?? DEFAULT_MODEL_SEED, 'resnet');
  const input = tf.input({ shape: [size, size, channels] });
  let x = convBn(input, widths[0] ?? 16, 3, 1, init, true);
  widths.forEach((filters, stage) => {
    for (let b = 0; b < blocks; b++) x = basicBlock(x, filters, stage > 0 && b === 0 ? 2 : 1, init);
  });
  x = tf.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const output = tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init.glorot() }).apply(x) as Sym;
  return finish(tf.model({ inputs: input, outputs: output, name: `resnet${6 * blocks + 2}` }), o);
}

/**
 * A MobileNet-like net (Howard et al. 2017): strided stem, then depthwise-separable blocks
 * (3x3 depthwise + BN + ReLU6, 1x1 pointwise + BN + ReLU6), ending in a fused SeparableConv2D
 * block and global average pooling. Exercises both depthwise gradient kernels on wasm.
 */
import tf from '#tfjs';
import { checkOptions, DEFAULT_MODEL_SEED, finish, SeededInit, type ModelOptions } from './common.js';

/** Options for mobilenet. */
export interface MobileNetOptions extends ModelOptions {
  /** Width multiplier on every layer's filters (default 0.5: small inputs, few classes). */
  readonly alpha?: number;
  /** Channel multiplier of the depthwise convs (default 1, as in MobileNet). */
  readonly depthMultiplier?: number;
}

type Sym = tf.SymbolicTensor;

const bnRelu6 = (x: Sym): Sym =>
  tf.layers.activation({ activation: 'relu6' }).apply(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 }).apply(x)) as Sym;

function separableBlock(x: Sym, filters: number, strides: number, depthMultiplier: number, init: SeededInit): Sym {
  const dw = tf.layers
    .depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', depthMultiplier, useBias: false, depthwiseInitializer: init.he() })
    .apply(x) as Sym;
  const pw = tf.layers
    .conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init.he() })
    .apply(bnRelu6(dw)) as Sym;
  return bnRelu6(pw);
}

/** Depthwise-separable convolutions: the cheap-inference family the wasm backend serves best. */
export function mobilenet(o: MobileNetOptions): tf.LayersModel {
  const { size, classes, channels } = checkOptions('mobilenet', o);
  const alpha = o.alpha ?? 0.5;
  const m = o.depthMultiplier ?? 1;
  if (!(alpha > 0)) throw new RangeError(`mobilenet: alpha must be > 0, got ${alpha}`);
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`mobilenet: depthMultiplier must be a positive integer, got ${m}`);
  const width = (f: number) => Math.max(8, Math.round(f * alpha));
  const init = new SeededInit(o.seed ?? DEFAULT_MODEL_SEED, 'mobilenet');
  const input = tf.input({ shape: [size, size, channels] });
  let x = bnRelu6(
    tf.layers
      .conv2d({ filters: width(32), kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init.he() })
      .apply(input) as Sym,
  );
  for (const [filters, strides] of [
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
  ] as const)
    x = separableBlock(x, width(filters), strides, m, init);
  x = bnRelu6(
    tf.layers
      .separableConv2d({
        filters: width(256),
        kernelSize: 3,
        padding: 'same',
        depthMultiplier: m,
        useBias: false,
        depthwiseInitializer: init.he(),
        pointwiseInitializer: init.he(),
      })
      .apply(x) as Sym,
  );
  x = tf.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const output = tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init.glorot() }).apply(x) as Sym;
  return finish(tf.model({ inputs: input, outputs: output, name: 'mobilenet_like' }), o);
}

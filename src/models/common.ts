/**
 * What every zoo model shares: options, seeded initializers and the standard compile, so any
 * model trains reproducibly from a seed and the pipeline's one-hot labels fit its loss.
 */
import tf from '#tfjs';
import { fusedAdam } from '../backend/fusedAdam.js';
import { rng, type Rng } from '../core/random.js';

/** Options common to every model in the zoo. */
export interface ModelOptions {
  /** Side of the square input images, in pixels; any size >= 1 works (all pooling is 'same'). */
  readonly inputSize: number;
  /** Number of classes: the width of the softmax output and of the one-hot labels. */
  readonly numClasses: number;
  /** Image channels; 3 unless the pipeline feeds grayscale. */
  readonly channels?: number;
  /** Seed for every initializer, so two builds with one seed start from identical weights. */
  readonly seed?: number;
  /** Adam learning rate (default 1e-3). */
  readonly learningRate?: number;
  /** Compile with adam + categoricalCrossentropy + accuracy (default true); false to compile yourself. */
  readonly compile?: boolean;
}

/** The default seed, so unseeded builds are still reproducible rather than clock-dependent. */
export const DEFAULT_MODEL_SEED = 0;

/** Checks the shape options once, so a bad size fails at build time with a readable message. */
export function checkOptions(model: string, o: ModelOptions): { size: number; classes: number; channels: number } {
  const channels = o.channels ?? 3;
  for (const [k, v] of [
    ['inputSize', o.inputSize],
    ['numClasses', o.numClasses],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${model}: ${k} must be a positive integer, got ${v}`);
  }
  return { size: o.inputSize, classes: o.numClasses, channels };
}

/**
 * Hands out a fresh seed per layer from one model seed: tfjs initializers with equal seeds draw
 * equal numbers, so layers of one shape would otherwise start identical.
 */
export class SeededInit {
  private readonly r: Rng;

  constructor(seed: number, model: string) {
    this.r = rng(seed, 'model-init', model);
  }

  private seed(): number {
    return this.r.uint32();
  }

  /** He normal (truncated), for conv layers followed by ReLU. */
  he(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.seed() });
  }

  /** Glorot uniform, for the classifier head. */
  glorot(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.seed() });
  }
}

/** Compiles with the loss and metric the pipeline's one-hot (or mixed) labels are made for. */
export function compileClassifier(model: tf.LayersModel, learningRate = 1e-3): tf.LayersModel {
  // fusedAdam is tf.train.adam with one kernel per variable update on wasm (src/backend/fusedAdam.ts).
  model.compile({ optimizer: fusedAdam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Compiles unless the caller opted out; returns the model for chaining. */
export function finish(model: tf.LayersModel, o: ModelOptions): tf.LayersModel {
  return o.compile === false ? model : compileClassifier(model, o.learningRate);
}

/**
 * The training recipe regulariser ablations are run under: optimizer (Adam, or SGD with
 * momentum), learning-rate schedule (constant, cosine with linear warm-up, step) and decoupled
 * weight decay (AdamW / SGDW style: w <- w - lr * wd * w after each step, kernels only, so biases
 * are not pulled to 0). Recorded whole in results.json and hashed with the config: a change of
 * recipe is a new experiment. The schedule is a pure function of the step, tested on its own.
 */
export interface Recipe {
  readonly optimizer: 'adam' | 'sgd';
  /** SGD momentum (ignored by Adam). */
  readonly momentum: number;
  /** Decoupled weight decay per step, times the current learning rate; 0: none. */
  readonly weightDecay: number;
  readonly schedule: 'constant' | 'cosine' | 'step';
  /** Epochs of linear warm-up from 0 (cosine and step). */
  readonly warmupEpochs: number;
  /** Step schedule: multiply by `stepGamma` every `stepEvery` epochs. */
  readonly stepEvery: number;
  readonly stepGamma: number;
}

export const DEFAULT_RECIPE: Recipe = {
  optimizer: 'adam',
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'constant',
  warmupEpochs: 0,
  stepEvery: 10,
  stepGamma: 0.1,
};

/** Checks a recipe, naming the first bad option. */
export function checkRecipe(r: Recipe): Recipe {
  if (r.optimizer !== 'adam' && r.optimizer !== 'sgd')
    throw new RangeError(`--optimizer must be adam or sgd, got '${String(r.optimizer)}'`);
  if (!(r.momentum >= 0 && r.momentum < 1)) throw new RangeError(`--momentum must be in [0, 1), got ${r.momentum}`);
  if (!(r.weightDecay >= 0 && r.weightDecay < 1)) throw new RangeError(`--weight-decay must be in [0, 1), got ${r.weightDecay}`);
  if (!['constant', 'cosine', 'step'].includes(r.schedule))
    throw new RangeError(`--schedule must be constant, cosine or step, got '${String(r.schedule)}'`);
  if (!(r.warmupEpochs >= 0 && Number.isFinite(r.warmupEpochs)))
    throw new RangeError(`--warmup must be a number of epochs >= 0, got ${r.warmupEpochs}`);
  if (!(Number.isInteger(r.stepEvery) && r.stepEvery >= 1))
    throw new RangeError(`step-every must be a positive integer, got ${r.stepEvery}`);
  if (!(r.stepGamma > 0 && r.stepGamma <= 1)) throw new RangeError(`step-gamma must be in (0, 1], got ${r.stepGamma}`);
  return r;
}

/**
 * The learning rate of step `step` (from 0) of a run of `totalSteps`, `stepsPerEpoch` per epoch.
 * Warm-up rises linearly to `base` over warmupEpochs (reaching it at the warm-up's end); cosine then
 * decays to 0 at the last step; step multiplies by gamma at every stepEvery-th epoch boundary.
 */
export function learningRateAt(r: Recipe, base: number, step: number, stepsPerEpoch: number, totalSteps: number): number {
  const warmup = Math.round(r.warmupEpochs * stepsPerEpoch);
  if (r.schedule === 'constant') return base;
  if (step < warmup) return (base * (step + 1)) / warmup;
  if (r.schedule === 'cosine') {
    const span = Math.max(1, totalSteps - warmup);
    return 0.5 * base * (1 + Math.cos((Math.PI * Math.min(span, step - warmup)) / span));
  }
  return base * r.stepGamma ** Math.floor(step / stepsPerEpoch / r.stepEvery);
}

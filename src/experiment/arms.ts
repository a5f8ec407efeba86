/**
 * Ablation arms: each a named pipeline, built from the run's seed and the shared options, applied
 * after the source. The reference four (baseline, augment, cutmix, mixup) are declared here as
 * operator compositions; an `ArmRegistry` holds them and users add their own.
 */
import type { Batch, DataError } from '../core/types.js';
import { ops, Pipeline, type SourceSample } from './pipeline.js';

/** What every arm of one ablation shares. */
export interface ArmOptions {
  /** Square image side in pixels. */
  readonly size: number;
  /** Batch size. */
  readonly batchSize: number;
  /** Shuffle-window size for arms that shuffle. */
  readonly shuffleWindow: number;
  /** Decoder pixel limit (normalizeResize's maxPixels); default there. */
  readonly maxPixels?: number;
  /** A file that cannot be decoded: 'fail' (default) or 'skip' (normalizeResize's onError). */
  readonly onError?: 'fail' | 'skip';
  /** Called for each skipped file under onError 'skip'. */
  readonly onSkip?: (error: DataError) => void;
}

type DecodeOptions = Pick<ArmOptions, 'maxPixels' | 'onError' | 'onSkip'>;

/** normalizeResize's options from the arm options: only those set, so default pipelines describe themselves as before. */
const normalizeOptions = (o: Pick<ArmOptions, 'size'> & DecodeOptions): Parameters<typeof ops.normalizeResize>[0] => ({
  size: o.size,
  ...(o.maxPixels === undefined ? {} : { maxPixels: o.maxPixels }),
  ...(o.onError === undefined ? {} : { onError: o.onError }),
  ...(o.onSkip === undefined ? {} : { onSkip: o.onSkip }),
});

/** An arm: a name, a line for people, and its training pipeline as a function of (seed, options). */
export interface Arm {
  readonly name: string;
  readonly summary: string;
  readonly build: (seed: number, options: ArmOptions) => Pipeline<SourceSample, Batch>;
}

/** Thrown for an arm name the registry does not hold; the message lists the ones it does. */
export class UnknownArmError extends Error {
  constructor(
    readonly arm: string,
    readonly known: readonly string[],
  ) {
    super(`unknown arm '${arm}'; known arms: ${known.join(', ')}`);
    this.name = 'UnknownArmError';
  }
}

const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Arms by name, in registration order. */
export class ArmRegistry {
  private readonly arms = new Map<string, Arm>();

  constructor(arms: Iterable<Arm> = []) {
    for (const arm of arms) this.register(arm);
  }

  /** Adds an arm; `replace` allows redefining an existing name. Names: letters, digits, _ . - */
  register(arm: Arm, options: { readonly replace?: boolean } = {}): this {
    if (!ARM_NAME.test(arm.name)) throw new RangeError(`arm name '${arm.name}' must be letters, digits, '_', '.' or '-'`);
    if (this.arms.has(arm.name) && !options.replace) throw new RangeError(`arm '${arm.name}' is already registered (pass { replace: true } to redefine it)`);
    this.arms.set(arm.name, arm);
    return this;
  }

  /** A copy with more arms (or redefined ones): the default registry stays as it is. */
  with(...arms: Arm[]): ArmRegistry {
    const copy = new ArmRegistry(this.arms.values());
    for (const arm of arms) copy.register(arm, { replace: true });
    return copy;
  }

  has(name: string): boolean {
    return this.arms.has(name);
  }

  get(name: string): Arm {
    const arm = this.arms.get(name);
    if (!arm) throw new UnknownArmError(name, this.names());
    return arm;
  }

  names(): string[] {
    return [...this.arms.keys()];
  }
}

/** normalizeResize -> batch -> oneHot: the pipeline without augmentation, also used for validation. */
export function plainPipeline(options: Pick<ArmOptions, 'size' | 'batchSize'> & DecodeOptions): Pipeline<SourceSample, Batch> {
  return Pipeline.of<SourceSample>().then(ops.normalizeResize(normalizeOptions(options))).then(ops.batch(options.batchSize)).then(ops.oneHot());
}

/** normalizeResize -> augment(flip, brightness) -> shuffleWindow -> batch: what the augmented arms share. */
export function augmentedBatches(seed: number, options: ArmOptions): Pipeline<SourceSample, Batch> {
  return Pipeline.of<SourceSample>()
    .then(ops.normalizeResize(normalizeOptions(options)))
    .then(ops.augment({ flip: 'horizontal', brightness: 0.2, seed }))
    .then(ops.shuffleWindow(options.shuffleWindow, { seed }))
    .then(ops.batch(options.batchSize));
}

export const baselineArm: Arm = {
  name: 'baseline',
  summary: 'no augmentation: normalizeResize, batch, oneHot',
  build: (_seed, o) => plainPipeline(o),
};

export const augmentArm: Arm = {
  name: 'augment',
  summary: 'horizontal flip + brightness 0.2 + shuffle window',
  build: (seed, o) => augmentedBatches(seed, o).then(ops.oneHot()),
};

export const cutmixArm: Arm = {
  name: 'cutmix',
  summary: 'augment, then CutMix (alpha 1)',
  build: (seed, o) => augmentedBatches(seed, o).then(ops.cutmix({ alpha: 1, seed })),
};

export const mixupArm: Arm = {
  name: 'mixup',
  summary: 'augment, then Mixup (alpha 0.2)',
  build: (seed, o) => augmentedBatches(seed, o).then(ops.mixup({ alpha: 0.2, seed })),
};

/** The reference CutMix / Mixup ablation's arms. */
export const REFERENCE_ARMS: readonly Arm[] = [baselineArm, augmentArm, cutmixArm, mixupArm];

/** A fresh registry holding the reference arms; extend it with `register` or `with`. */
export function defaultArmRegistry(): ArmRegistry {
  return new ArmRegistry(REFERENCE_ARMS);
}

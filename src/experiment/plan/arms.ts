/**
 * Ablation arms: each a named pipeline, built from the run's seed and the shared options, applied
 * after the source. An arm returns the plain RxJS operators users write everywhere else; each
 * mixstream operator carries its own name and options (flow/describe.ts), so the results still
 * record every step. The reference four (baseline, augment, cutmix, mixup) are declared here, the
 * recipe arms in recipeArms.ts, and the one built-in list (both) is builtinArms.ts. An
 * `ArmRegistry` holds arms by name; users add their own to it, or as a module (armsModule.ts).
 */
import type { Observable, OperatorFunction } from 'rxjs';
import type { Batch, DataError } from '../../core/types.js';
import type { DecodedImages } from '../../decode/memo.js';
import { describeSteps, descriptionOf, type StepDescription } from '../../flow/describe.js';
import {
  augment,
  batch,
  cutmix,
  mixup,
  normalizeResize,
  oneHot,
  shuffleWindow,
  type NormalizeResizeOptions,
} from '../../operators/index.js';
import type { SourceSample } from '../data/pipeline.js';
import { defined } from '../../core/idioms.js';

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
  /** The process's decoded images (normalizeResize's `decoded`): the runner's, shared by every run. */
  readonly decoded?: DecodedImages;
}

/** Any operator of a chain, as an arm lists them (the chain's types are checked where it is written). */
export type AnyOperator = OperatorFunction<never, unknown>;

/**
 * What an arm's build returns: the operators from the source's samples to batches, as users write
 * them in `pipe(...)`: one OperatorFunction, or a list applied in order.
 *
 * @example
 * (seed, o) => [normalizeResize({ size: o.size }), augment({ flip: 'horizontal' }), batch(o.batchSize), cutmix({ alpha: 1 })]
 */
export type ArmOperators = OperatorFunction<SourceSample, Batch> | readonly AnyOperator[];

type DecodeOptions = Pick<ArmOptions, 'maxPixels' | 'onError' | 'onSkip' | 'decoded'>;

/** normalizeResize's options from the arm options: only those set, so default pipelines describe themselves as before. */
export const normalizeOptions = (o: Pick<ArmOptions, 'size'> & DecodeOptions): NormalizeResizeOptions => ({
  size: o.size,
  ...defined({ maxPixels: o.maxPixels }),
  ...defined({ onError: o.onError }),
  ...defined({ onSkip: o.onSkip }),
  ...defined({ decoded: o.decoded }),
});

/** An arm: a name, a line for people, and its training pipeline as a function of (seed, options). */
export interface Arm {
  readonly name: string;
  readonly summary: string;
  /**
   * The arm this one differs from by one change (cutmix: augment; augment: baseline): its primary
   * contrast in the report (stats/headline.ts). Absent: the baseline.
   */
  readonly parent?: string;
  readonly build: (seed: number, options: ArmOptions) => ArmOperators;
}

/** An arm built for one seed: the whole chain as one operator, and its steps as recorded. */
export interface BuiltArm {
  readonly operator: OperatorFunction<SourceSample, Batch>;
  readonly steps: readonly StepDescription[];
  /** One line: `normalizeResize({"size":32}) -> batch({"size":32}) -> oneHot({})`. */
  describe(): string;
}

/** Composes operators (a list, or one) into one, with the steps they say they are. */
export function composeSteps(operators: ArmOperators, ...after: AnyOperator[]): BuiltArm {
  const list: readonly AnyOperator[] = [...(typeof operators === 'function' ? [operators as unknown as AnyOperator] : operators), ...after];
  const steps = list.map((op) => descriptionOf(op));
  const operator = (source: Observable<SourceSample>): Observable<Batch> =>
    list.reduce<Observable<unknown>>(
      (acc, op) => (op as unknown as (s: Observable<unknown>) => Observable<unknown>)(acc),
      source,
    ) as Observable<Batch>;
  return { operator, steps, describe: () => describeSteps(steps) };
}

/**
 * Builds `arm` for `seed`, with operators `after` it (the runner's prefetch): what the runner
 * feeds the model and records.
 */
export function buildArm(arm: Arm, seed: number, options: ArmOptions, ...after: AnyOperator[]): BuiltArm {
  return composeSteps(arm.build(seed, options), ...after);
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
    if (this.arms.has(arm.name) && !options.replace)
      throw new RangeError(`arm '${arm.name}' is already registered (pass { replace: true } to redefine it)`);
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
export function plainPipeline(options: Pick<ArmOptions, 'size' | 'batchSize'> & DecodeOptions, ...after: AnyOperator[]): BuiltArm {
  return composeSteps(plainOperators(options), ...after);
}

function plainOperators(options: Pick<ArmOptions, 'size' | 'batchSize'> & DecodeOptions): AnyOperator[] {
  return [normalizeResize(normalizeOptions(options)), batch(options.batchSize), oneHot()] as AnyOperator[];
}

/** normalizeResize -> augment(flip, brightness) -> shuffleWindow -> batch: what the augmented arms share. */
export function augmentedBatches(seed: number, options: ArmOptions): AnyOperator[] {
  return [
    normalizeResize(normalizeOptions(options)),
    augment({ flip: 'horizontal', brightness: 0.2, seed }),
    shuffleWindow(options.shuffleWindow, { seed }),
    batch(options.batchSize),
  ] as AnyOperator[];
}

export const baselineArm: Arm = {
  name: 'baseline',
  summary: 'no augmentation: normalizeResize, batch, oneHot',
  build: (_seed, o) => plainOperators(o),
};

export const augmentArm: Arm = {
  name: 'augment',
  parent: 'baseline',
  summary: 'horizontal flip + brightness 0.2 + shuffle window',
  build: (seed, o) => [...augmentedBatches(seed, o), oneHot() as AnyOperator],
};

export const cutmixArm: Arm = {
  name: 'cutmix',
  summary: 'augment, then CutMix (alpha 1)',
  parent: 'augment',
  build: (seed, o) => [...augmentedBatches(seed, o), cutmix({ alpha: 1, seed }) as AnyOperator],
};

export const mixupArm: Arm = {
  name: 'mixup',
  summary: 'augment, then Mixup (alpha 0.2)',
  parent: 'augment',
  build: (seed, o) => [...augmentedBatches(seed, o), mixup({ alpha: 0.2, seed }) as AnyOperator],
};

/** The reference CutMix / Mixup ablation's arms. */
export const REFERENCE_ARMS: readonly Arm[] = [baselineArm, augmentArm, cutmixArm, mixupArm];

/** A fresh registry holding the reference arms; extend it with `register` or `with`. */
export function defaultArmRegistry(): ArmRegistry {
  return new ArmRegistry(REFERENCE_ARMS);
}

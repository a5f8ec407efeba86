/** The ablation's settings and their defaults (what identifies a run: identity.ts). */
import type { BackendChoice } from '../../backend/index.js';
import type { ModelName } from '../../models/index.js';
import type { FineTunePolicy } from '../../models/fineTunePolicy.js';
import { DEFAULT_RECIPE, type Recipe } from './recipe.js';

export interface AblationConfig {
  /** Image folder (Stanford Dogs layout); undefined: the built-in data set. */
  readonly data?: string;
  /** Arm names, in report order. */
  readonly arms: readonly string[];
  /** One run per (arm, seed); the seed keys the model's initial weights and every random draw of the pipeline. */
  readonly seeds: readonly number[];
  readonly epochs: number;
  /** Square image side in pixels. */
  readonly size: number;
  readonly batchSize: number;
  /** A zoo model name. */
  readonly model: ModelName;
  /** Your own model instead of the zoo's (--model path/to/model.json): its weights start every run (models/userModel.ts). */
  readonly modelFile?: string;
  /** --weights: 'imagenet' (Keras's published file) or a .h5 / model.json every run's backbone starts from (models/weights.ts). */
  readonly weights?: string;
  /** --freeze, --unfreeze-at, --backbone-lr-mult (models/finetune.ts); absent: every layer trains at the learning rate. */
  readonly fineTune?: FineTunePolicy;
  /** Extra options for the zoo model (e.g. simple-cnn's filters); recorded with the results. */
  readonly modelOptions: Readonly<Record<string, unknown>>;
  readonly backend: BackendChoice;
  /** Peak learning rate (the schedule's base). */
  readonly learningRate: number;
  /** Optimizer, schedule, weight decay (recipe.ts); default DEFAULT_RECIPE (Adam, constant, none). */
  readonly recipe?: Recipe;
  /** Fraction of each class held out for validation: of the whole data set (of its training files when it has test files of its own). */
  readonly validationSplit: number;
  /**
   * Fraction of each class held out as a test split, scored once per run at the end, when the data
   * has no test split of its own (t10k-*, test_batch.bin, test shards, a manifest's test rows) and
   * no `test` is given; 0: none. A fraction of the whole: validationSplit + testSplit < 1.
   */
  readonly testSplit?: number;
  /** A test set of its own (--test PATH): any data set the sources recognise, with the training data's classes. */
  readonly test?: string;
  /** Shuffle-window size of the arms that shuffle. */
  readonly shuffleWindow: number;
  /** Output folder. */
  readonly out: string;
  /** Largest image a decoder accepts, in declared pixels (default DEFAULT_MAX_PIXELS in limits.ts). */
  readonly maxPixels?: number;
  /** A file that cannot be read or decoded: 'fail' stops the run; 'skip' drops it and lists it in results.json. Default 'fail'. */
  readonly onError?: 'fail' | 'skip';
  /** Reference arm of the comparisons (--baseline); default the first arm. Analysis only: not hashed. */
  readonly baseline?: string;
  /** Effect of interest for the seeds-needed estimate, in accuracy points (--effect); default 1. */
  readonly effect?: number;
  /** The family of contrasts (--contrasts 'cutmix:augment,augment:baseline'); default each arm against its parent and the baseline. Analysis only: not hashed. */
  readonly contrasts?: string;
}

/** Per-model defaults sized for a 2-core machine on wasm at 32 px. */
export const DEFAULT_MODEL_OPTIONS: Readonly<Record<ModelName, Readonly<Record<string, unknown>>>> = {
  'simple-cnn': { filters: [8, 16], hidden: 64 },
  resnet: {},
  mobilenet: {},
  'mobilenet-v2': {},
  resnet50: {},
};

/**
 * The defaults of `mixstream ablate`: all four arms, 8 seeds, 16 epochs. 8 seeds because the
 * default family is 5 contrasts (augment - baseline, cutmix and mixup each against augment and
 * against the baseline) and the exact sign-flip test needs 2/2^n <= 0.05/5 before any verdict can
 * be other than inconclusive (7 seeds: 0.016, never); 16 epochs with a cosine schedule because at
 * 12 the curves were still rising. On the built-in data (480 training images) 7 seeds took 154 s
 * of CPU in all (wasm, 2 jobs): about 1.5 min on 2 free cores, 8 seeds about 1.7.
 */
export const DEFAULT_CONFIG: AblationConfig = {
  arms: ['baseline', 'augment', 'cutmix', 'mixup'],
  seeds: [1, 2, 3, 4, 5, 6, 7, 8],
  epochs: 16,
  recipe: { ...DEFAULT_RECIPE, schedule: 'cosine', warmupEpochs: 1 },
  testSplit: 0.15,
  size: 32,
  batchSize: 32,
  model: 'simple-cnn',
  modelOptions: DEFAULT_MODEL_OPTIONS['simple-cnn'],
  backend: 'auto',
  learningRate: 0.003,
  validationSplit: 0.2,
  shuffleWindow: 256,
  out: 'ablation-results',
};

/**
 * The one validator of an ablation's settings: the CLI's flag parsers check only that a value
 * parses; what a value may be is decided here, for the CLI and the API alike.
 */
import { checkFineTune } from '../../models/fineTunePolicy.js';
import { BACKBONE_NAMES, MODEL_NAMES } from '../../models/names.js';
import { checkSplits } from '../data/splits.js';
import { InputError } from '../errors.js';
import type { ArmRegistry } from './arms.js';
import type { AblationConfig } from './config.js';
import { checkTrainingShape } from './limits.js';
import type { Shard } from './planRuns.js';
import { checkRecipe } from './recipe.js';
import { errorMessage } from '../../core/idioms.js';

/** The most seeds one ablation plans (--seeds takes a count or a list up to this). */
export const MAX_SEEDS = 1000;

const positiveInt = (name: string, v: number): void => {
  if (!Number.isInteger(v) || v < 1) throw new InputError(`${name} must be a positive integer, got ${v}`);
};

/** Checks the arm and seed lists against the registry. */
function validateArmsAndSeeds(config: AblationConfig, registry: ArmRegistry): void {
  if (config.arms.length === 0) throw new InputError('no arms given');
  if (new Set(config.arms).size !== config.arms.length) throw new InputError(`arms listed twice: ${config.arms.join(',')}`);
  for (const arm of config.arms)
    if (!registry.has(arm)) throw new InputError(`unknown arm '${arm}'; known arms: ${registry.names().join(', ')}`);
  if (config.seeds.length === 0) throw new InputError('no seeds given');
  if (config.seeds.length > MAX_SEEDS) throw new InputError(`${config.seeds.length} seeds given; at most ${MAX_SEEDS}`);
  for (const s of config.seeds) if (!Number.isSafeInteger(s) || s < 0) throw new InputError(`seeds must be integers >= 0, got ${s}`);
  if (new Set(config.seeds).size !== config.seeds.length) throw new InputError(`seeds listed twice: ${config.seeds.join(',')}`);
  if (config.baseline !== undefined && !config.arms.includes(config.baseline))
    throw new InputError(`--baseline '${config.baseline}' is not one of the arms: ${config.arms.join(', ')}`);
}

/** Checks --weights and the fine-tuning policy (models/fineTunePolicy.ts). */
function validateBackbone(config: AblationConfig): void {
  if (config.weights !== undefined) {
    if (config.modelFile !== undefined) throw new InputError('--weights is for zoo models; a --model file brings its own weights');
    if (config.weights === 'imagenet' && !BACKBONE_NAMES.includes(config.model))
      throw new InputError(`--weights imagenet needs --model ${BACKBONE_NAMES.join(' or ')}, got '${config.model}'`);
  }
  if (config.fineTune !== undefined) {
    try {
      checkFineTune(config.fineTune);
    } catch (error) {
      throw new InputError(error instanceof Error ? error.message : String(error));
    }
  }
}

/** Checks the config's values, throwing an InputError naming the first bad one. */
export function validateConfig(config: AblationConfig, registry: ArmRegistry): void {
  positiveInt('epochs', config.epochs);
  positiveInt('size', config.size);
  positiveInt('batch', config.batchSize);
  positiveInt('shuffle window', config.shuffleWindow);
  validateArmsAndSeeds(config, registry);
  if (!MODEL_NAMES.includes(config.model)) throw new InputError(`unknown model '${config.model}'; known models: ${MODEL_NAMES.join(', ')}`);
  if (!(config.learningRate > 0 && Number.isFinite(config.learningRate)))
    throw new InputError(`learning rate must be a number > 0, got ${config.learningRate}`);
  if (Math.fround(config.learningRate) === 0)
    throw new InputError(`learning rate ${config.learningRate} is 0 in float32 (what training computes in); the smallest is about 1.4e-45`);
  checkSplits(config.validationSplit, config.testSplit ?? 0); // both fractions of the whole: their sum below 1
  checkTrainingShape(config); // model options, and size x batch x model against the memory budget
  if (config.recipe !== undefined) {
    try {
      checkRecipe(config.recipe);
    } catch (error) {
      throw new InputError(errorMessage(error));
    }
  }
  validateBackbone(config);
  if (config.effect !== undefined && !(config.effect > 0 && Number.isFinite(config.effect)))
    throw new InputError(`--effect must be a number of accuracy points > 0, got ${config.effect}`);
}

/** Checks a shard (0 <= index < count, integers), for the CLI (--shard) and the API alike. */
export function validateShard(shard: Shard): void {
  const { index, count } = shard;
  const got = `got '${index}/${count}'`;
  if (!Number.isSafeInteger(count) || count < 1) throw new InputError(`--shard COUNT must be at least 1, ${got}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new InputError(`--shard INDEX must be in 0..${count - 1}, ${got}`);
}

/**
 * `mixstream/experiment`: what a user composes into an ablation of their own. Arms (the built-in
 * ones, your own, a module of them for --jobs and shards), the config and its defaults,
 * runAblation and what it reports, the run records it keeps, and the paired comparisons across
 * seeds with the warnings and power estimates drawn from them. The report is `mixstream/report`
 * (writeReport). The machinery behind them (the run store's locks and atomic writes, the scheduler,
 * one run's training, the t distribution) stays internal: src/experiment's folders by concern.
 * test/api/exports.test.ts keeps this list deliberate.
 */
export {
  ArmRegistry,
  augmentArm,
  augmentedBatches,
  baselineArm,
  buildArm,
  composeSteps,
  cutmixArm,
  defaultArmRegistry,
  mixupArm,
  plainPipeline,
  REFERENCE_ARMS,
  UnknownArmError,
} from './plan/arms.js';
export type { AnyOperator, Arm, ArmOperators, ArmOptions, BuiltArm } from './plan/arms.js';
export { loadArmsModule } from './plan/armsModule.js';
export { builtinArms } from './plan/builtinArms.js';
export { RECIPE_ARMS } from './plan/recipeArms.js';
export type { SourceSample } from './data/pipeline.js';

export { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS } from './plan/config.js';
export type { AblationConfig } from './plan/config.js';
export { DEFAULT_RECIPE } from './plan/recipe.js';
export type { Recipe } from './plan/recipe.js';
export { validateConfig } from './plan/validate.js';
export type { Shard } from './plan/planRuns.js';
export { InputError } from './errors.js';

export { openImageFolderData } from './data/data.js';
export { openDetectedData } from './data/detected.js';
export type { AblationData, ImageFolderDataOptions, TrainSourceOptions } from './data/data.js';

export { runAblation } from './run/runAblation.js';
export type { AblationRun, RunAblationOptions } from './run/scheduler.js';
export type { ProgressEvent } from './run/events.js';
export type { TrainEvent } from './train/train.js';

export { readRuns, summarize } from './store/results.js';
export type { ArmSummary, ResultsFile } from './store/results.js';
export { lastEpoch } from './record.js';
export type { EpochRecord, MixingStats, RunRecord } from './record.js';

export { compareArms, detectableEffect, seedsForEffect } from './stats/compare.js';
export type { CompareOptions, Comparison, ComparisonSet, Verdict } from './stats/compare.js';
export { analyzeRuns } from './stats/analysis.js';
export type { Analysis, AnalysisOptions } from './stats/analysis.js';
export { meanStd } from './stats/meanSd.js';
export type { MeanStd } from './stats/meanSd.js';
export { ablationWarnings } from './stats/warnings.js';
export type { AblationWarning, WarningInput } from './stats/warnings.js';

/** Ablations: arms as described operator compositions, a resumable runner, results with mean and std across seeds. */
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
export { BUILTIN_OPTIONS, BUILTIN_VERSION, cacheRoot, ensureBuiltinDataset } from './data/builtin.js';
export { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS, shortHash, stableJson } from './plan/config.js';
export type { AblationConfig } from './plan/config.js';
export { openImageFolderData } from './data/data.js';
export { openDetectedData } from './data/detected.js';
export type { AblationData, ImageFolderDataOptions, TrainSourceOptions } from './data/data.js';
export { InputError } from './errors.js';
export { describeSteps, descriptionOf, described } from './data/pipeline.js';
export type { SourceSample, StepDescription } from './data/pipeline.js';
export { formatDuration, ProgressPrinter } from '../cli/progress.js';
export type { ProgressMode } from '../cli/progress.js';
export { csvField, readRuns, RESULTS_FORMAT, resultsCsv, summarize, writeAtomic } from './store/results.js';
export type { ArmSummary, EpochRecord, ResultsFile, RunRecord } from './store/results.js';
export { openConfigData, prepareAblation, runAblation, shardShare, trainAndSave, validateConfig } from './run/runner.js';
export { autoJobs } from './run/pool.js';
export type { AblationRun, Prepared, ProgressEvent, RunAblationOptions, RunOutcome, Shard } from './run/runner.js';
export {
  checkOutFolder,
  claimRun,
  cleanStaleTemps,
  HEARTBEAT_SECONDS,
  LOCK_STALE_SECONDS,
  readRunFile,
  readStore,
  runRecordProblem,
  writeFileAtomic,
} from './store/store.js';
export type { Claim, RunRead } from './store/store.js';
export { checkpointFile, decodeCheckpoint, type Checkpoint } from './train/checkpoint.js';
export { runKey, runPipeline, trainRun } from './train/train.js';
export type { TrainContext, TrainEvent, TrainRunOptions } from './train/train.js';
export { migrateResultsFile, missingRuns, readConfigHeader, writeConfigHeader, writeViews } from './store/views.js';
export type { ConfigHeader, Views } from './store/views.js';
export { meanStd } from './stats/meanSd.js';
export type { MeanStd } from './stats/meanSd.js';
export { analyzeRuns } from './stats/analysis.js';
export type { Analysis, AnalysisOptions } from './stats/analysis.js';
export {
  compareArms,
  DECIDED_BY,
  detectableEffect,
  holm,
  seedsForEffect,
  separationEpoch,
  signFlipP,
  signFlipSeeds,
  tInterval,
} from './stats/compare.js';
export type { CompareOptions, Comparison, ComparisonSet, Verdict } from './stats/compare.js';
export { PAIRED_DESIGN } from './stats/design.js';
export { bestEpoch, lastKValAccuracy, runMetrics } from './stats/metrics.js';
export type { RunMetric } from './stats/metrics.js';
export { barelyActed, batchLambda, MixingObserver } from './train/mixstats.js';
export type { MixingStats } from './train/mixstats.js';
export { checkRecipe, DEFAULT_RECIPE, learningRateAt } from './plan/recipe.js';
export { applyRecipe } from './train/train.js';
export type { Recipe } from './plan/recipe.js';
export { RECIPE_ARMS, withRecipeArms } from './plan/recipeArms.js';
export { incompleteBeta, tCdf, tQuantile } from './stats/tdist.js';
export { ablationWarnings, pointsPerImage } from './stats/warnings.js';
export type { AblationWarning, WarningInput } from './stats/warnings.js';

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
} from './arms.js';
export type { AnyOperator, Arm, ArmOperators, ArmOptions, BuiltArm } from './arms.js';
export { BUILTIN_OPTIONS, BUILTIN_VERSION, cacheRoot, ensureBuiltinDataset } from './builtin.js';
export { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS, shortHash, stableJson } from './config.js';
export type { AblationConfig } from './config.js';
export { openImageFolderData } from './data.js';
export { openDetectedData } from './detected.js';
export type { AblationData, ImageFolderDataOptions, TrainSourceOptions } from './data.js';
export { InputError } from './errors.js';
export { describeSteps, descriptionOf, described } from './pipeline.js';
export type { SourceSample, StepDescription } from './pipeline.js';
export { formatDuration, ProgressPrinter } from './progress.js';
export type { ProgressMode } from './progress.js';
export { csvField, readRuns, RESULTS_FORMAT, resultsCsv, summarize, writeAtomic } from './results.js';
export type { ArmSummary, EpochRecord, ResultsFile, RunRecord } from './results.js';
export { openConfigData, prepareAblation, runAblation, shardShare, trainAndSave, validateConfig } from './runner.js';
export { autoJobs } from './pool.js';
export type { AblationRun, Prepared, ProgressEvent, RunAblationOptions, RunOutcome, Shard } from './runner.js';
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
} from './store.js';
export type { Claim, RunRead } from './store.js';
export { checkpointFile, decodeCheckpoint, type Checkpoint } from './checkpoint.js';
export { runKey, runPipeline, trainRun } from './train.js';
export type { TrainContext, TrainEvent, TrainRunOptions } from './train.js';
export { migrateResultsFile, missingRuns, readConfigHeader, writeConfigHeader, writeViews } from './views.js';
export type { ConfigHeader, Views } from './views.js';
export { meanStd } from './stats.js';
export type { MeanStd } from './stats.js';
export { analyzeRuns } from './analysis.js';
export type { Analysis, AnalysisOptions } from './analysis.js';
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
} from './compare.js';
export type { CompareOptions, Comparison, ComparisonSet, Verdict } from './compare.js';
export { PAIRED_DESIGN } from './design.js';
export { bestEpoch, lastKValAccuracy, runMetrics } from './metrics.js';
export type { RunMetric } from './metrics.js';
export { barelyActed, batchLambda, MixingObserver } from './mixstats.js';
export type { MixingStats } from './mixstats.js';
export { checkRecipe, DEFAULT_RECIPE, learningRateAt } from './recipe.js';
export { applyRecipe } from './train.js';
export type { Recipe } from './recipe.js';
export { RECIPE_ARMS, withRecipeArms } from './recipeArms.js';
export { incompleteBeta, tCdf, tQuantile } from './tdist.js';
export { ablationWarnings, pointsPerImage } from './warnings.js';
export type { AblationWarning, WarningInput } from './warnings.js';

/**
 * Ablations: arms as described operator compositions (plan/), a resumable scheduler over processes
 * (run/), one run's training (train/), a run store with views (store/), and paired comparisons
 * across seeds with their statistics (stats/). Data opening and splitting: data/.
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
export { BUILTIN_OPTIONS, BUILTIN_VERSION, cacheRoot, ensureBuiltinDataset } from './data/builtin.js';
export { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS } from './plan/config.js';
export { checkpointFile, configDir, runFileName, runKey, shortHash, stableJson } from './plan/identity.js';
export type { AblationConfig } from './plan/config.js';
export { openImageFolderData } from './data/data.js';
export { openDetectedData } from './data/detected.js';
export type { AblationData, ImageFolderDataOptions, TrainSourceOptions } from './data/data.js';
export { InputError } from './errors.js';
export { describeSteps, descriptionOf, described } from './data/pipeline.js';
export type { SourceSample, StepDescription } from './data/pipeline.js';
export { formatDuration, ProgressPrinter } from '../cli/progress.js';
export type { ProgressMode } from '../cli/progress.js';
export { csvField, readRuns, RESULTS_FORMAT, resultsCsv, summarize } from './store/results.js';
export type { ArmSummary, ResultsFile } from './store/results.js';
export { lastEpoch, runRecordProblem } from './record.js';
export type { EpochRecord, MixingStats, RunExpectation, RunRecord } from './record.js';
export { openConfigData } from './data/open.js';
export { prepareAblation, trainAndSave } from './train/prepare.js';
export type { Prepared, PrepareOptions, RunOutcome } from './train/prepare.js';
export { runAblation } from './run/scheduler.js';
export type { AblationRun, RunAblationOptions } from './run/scheduler.js';
export type { ProgressEvent } from './run/events.js';
export { planRuns, shardShare } from './plan/planRuns.js';
export type { PlannedRun, Shard } from './plan/planRuns.js';
export { validateConfig, validateShard } from './plan/validate.js';
export { autoJobs } from './run/pool.js';
export { cleanStaleTemps, writeFileAtomic } from './store/atomic.js';
export { claimRun, HEARTBEAT_SECONDS, LOCK_STALE_SECONDS } from './store/locks.js';
export type { Claim } from './store/locks.js';
export { checkOutFolder } from './store/outFolder.js';
export { readRunFile, readStore, setAsideDamaged, tidyStore } from './store/runFiles.js';
export type { DamagedRun, RunRead } from './store/runFiles.js';
export { decodeCheckpoint, type Checkpoint } from './train/checkpoint.js';
export { runPipeline, trainRun } from './train/train.js';
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
export { batchLambda, MixingObserver } from './train/mixstats.js';
export { barelyActed } from './stats/mixing.js';
export { checkRecipe, DEFAULT_RECIPE, learningRateAt } from './plan/recipe.js';
export { applyRecipe } from './train/train.js';
export type { Recipe } from './plan/recipe.js';
export { RECIPE_ARMS, withRecipeArms } from './plan/recipeArms.js';
export { builtinArms } from './plan/builtinArms.js';
export { incompleteBeta, tCdf, tQuantile } from './stats/tdist.js';
export { ablationWarnings, pointsPerImage } from './stats/warnings.js';
export type { AblationWarning, WarningInput } from './stats/warnings.js';

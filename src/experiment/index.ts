/** Ablations: arms as described operator compositions, a resumable runner, results with mean and std across seeds. */
export { ArmRegistry, augmentArm, augmentedBatches, baselineArm, cutmixArm, defaultArmRegistry, mixupArm, plainPipeline, REFERENCE_ARMS, UnknownArmError } from './arms.js';
export type { Arm, ArmOptions } from './arms.js';
export { BUILTIN_OPTIONS, BUILTIN_VERSION, cacheRoot, ensureBuiltinDataset } from './builtin.js';
export { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS, shortHash, stableJson } from './config.js';
export type { AblationConfig } from './config.js';
export { openImageFolderData } from './data.js';
export type { AblationData, ImageFolderDataOptions } from './data.js';
export { InputError } from './errors.js';
export { describeSteps, ops, Pipeline, step } from './pipeline.js';
export type { SourceSample, Step, StepDescription } from './pipeline.js';
export { formatDuration, ProgressPrinter } from './progress.js';
export type { ProgressMode } from './progress.js';
export { csvField, readRuns, RESULTS_FORMAT, resultsCsv, summarize, writeAtomic } from './results.js';
export type { ArmSummary, EpochRecord, ResultsFile, RunRecord } from './results.js';
export { openConfigData, runAblation, validateConfig } from './runner.js';
export type { AblationRun, ProgressEvent, RunAblationOptions } from './runner.js';
export { meanStd } from './stats.js';
export type { MeanStd } from './stats.js';

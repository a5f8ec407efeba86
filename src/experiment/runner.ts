/**
 * Runs an ablation: for every (arm, seed), a freshly seeded zoo model trained with fitDataset on
 * the arm's pipeline, validated on the shared split every epoch. Finished runs are written as they
 * finish (see results.ts) and skipped when the same config is run again.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { tap } from 'rxjs';
import { resolveBackend, type ResolvedBackend } from '../backend/index.js';
import { createModel, MODEL_NAMES } from '../models/index.js';
import { loadUserModel, readModelFiles, type ModelFiles } from '../models/userModel.js';
import { toTfDataset } from '../sinks/toTfDataset.js';
import { defaultArmRegistry, plainPipeline, type Arm, type ArmOptions, type ArmRegistry } from './arms.js';
import { ensureBuiltinDataset } from './builtin.js';
import { shortHash, type AblationConfig } from './config.js';
import { openImageFolderData, type AblationData } from './data.js';
import { openDetectedData } from './detected.js';
import { analyzeRuns } from './analysis.js';
import { PAIRED_DESIGN } from './design.js';
import { withRecipeArms } from './recipeArms.js';
import { applyRecipe, checkRecipe, DEFAULT_RECIPE } from './recipe.js';
import { MixingObserver } from './mixstats.js';
import { InputError } from './errors.js';
import { ops } from './pipeline.js';
import { readRuns, resultsCsv, RESULTS_FORMAT, summarize, writeAtomic, type EpochRecord, type ResultsFile, type RunRecord } from './results.js';

/** What the runner tells a progress display. */
export type ProgressEvent =
  | { readonly type: 'info'; readonly message: string }
  | { readonly type: 'plan'; readonly total: number; readonly skipped: number; readonly epochs: number; readonly batchesPerEpoch: number; readonly trainCount: number; readonly validationCount: number; readonly backend: ResolvedBackend }
  | { readonly type: 'skip'; readonly arm: string; readonly seed: number; readonly valAccuracy: number }
  | { readonly type: 'run-start'; readonly arm: string; readonly seed: number; readonly run: number; readonly runs: number; readonly pipeline: string }
  | { readonly type: 'batch'; readonly arm: string; readonly seed: number; readonly run: number; readonly runs: number; readonly epoch: number; readonly epochs: number; readonly batch: number; readonly batches: number; readonly imagesPerSecond: number; readonly etaSeconds: number | undefined }
  | { readonly type: 'epoch'; readonly arm: string; readonly seed: number; readonly run: number; readonly runs: number; readonly epochs: number; readonly record: EpochRecord; readonly etaSeconds: number | undefined }
  | { readonly type: 'run-end'; readonly arm: string; readonly seed: number; readonly record: RunRecord };

export interface RunAblationOptions {
  /** Where arm names are looked up; default: the reference arms. */
  readonly registry?: ArmRegistry;
  /** Already opened data; default: config.data opened as an image folder, or the built-in set. */
  readonly data?: AblationData;
  /** Cache folder of the built-in data set (default: see cacheRoot). */
  readonly cacheDir?: string;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Abort to stop after the current batch: the run in progress is dropped, finished ones are kept. */
  readonly signal?: AbortSignal;
  /** Items the training pipeline may run ahead of the model (prefetch). Default 2. */
  readonly prefetch?: number;
}

/** What a finished (or interrupted) ablation hands back, enough to write its report. */
export interface AblationRun {
  readonly config: AblationConfig;
  readonly results: ResultsFile;
  readonly data: AblationData;
  readonly registry: ArmRegistry;
  readonly armOptions: ArmOptions;
  readonly backend: ResolvedBackend;
  readonly resultsPath: string;
  readonly csvPath: string;
  /** Runs trained now, and runs found finished and skipped. */
  readonly trained: number;
  readonly skipped: number;
  readonly interrupted: boolean;
  readonly seconds: number;
}

/** Checks the config's values, throwing an InputError naming the first bad one. */
export function validateConfig(config: AblationConfig, registry: ArmRegistry): void {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('epochs', config.epochs);
  positiveInt('size', config.size);
  positiveInt('batch', config.batchSize);
  positiveInt('shuffle window', config.shuffleWindow);
  if (config.arms.length === 0) throw new InputError('no arms given');
  if (new Set(config.arms).size !== config.arms.length) throw new InputError(`arms listed twice: ${config.arms.join(',')}`);
  for (const arm of config.arms) if (!registry.has(arm)) throw new InputError(`unknown arm '${arm}'; known arms: ${registry.names().join(', ')}`);
  if (config.seeds.length === 0) throw new InputError('no seeds given');
  for (const s of config.seeds) if (!Number.isSafeInteger(s) || s < 0) throw new InputError(`seeds must be integers >= 0, got ${s}`);
  if (new Set(config.seeds).size !== config.seeds.length) throw new InputError(`seeds listed twice: ${config.seeds.join(',')}`);
  if (!MODEL_NAMES.includes(config.model)) throw new InputError(`unknown model '${config.model}'; known models: ${MODEL_NAMES.join(', ')}`);
  if (!(config.learningRate > 0 && Number.isFinite(config.learningRate))) throw new InputError(`learning rate must be a number > 0, got ${config.learningRate}`);
  if (!(config.validationSplit > 0 && config.validationSplit < 1)) throw new InputError(`validation split must be in (0, 1), got ${config.validationSplit}`);
  if (config.recipe !== undefined) {
    try {
      checkRecipe(config.recipe);
    } catch (error) {
      throw new InputError(error instanceof Error ? error.message : String(error));
    }
  }
  if (config.baseline !== undefined && !config.arms.includes(config.baseline)) throw new InputError(`--baseline '${config.baseline}' is not one of the arms: ${config.arms.join(', ')}`);
  if (config.effect !== undefined && !(config.effect > 0 && Number.isFinite(config.effect))) throw new InputError(`--effect must be a number of accuracy points > 0, got ${config.effect}`);
}

/** Opens the config's data: any data set openDataset recognises, or the built-in one (generated on first use). */
export async function openConfigData(config: AblationConfig, options: { readonly cacheDir?: string; readonly onProgress?: (event: ProgressEvent) => void } = {}): Promise<AblationData> {
  const testSplit = config.testSplit ?? 0;
  if (config.data !== undefined) return openDetectedData(config.data, { validationSplit: config.validationSplit, seeds: config.seeds, testSplit });
  const root = await ensureBuiltinDataset({
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    onGenerate: (folder) => options.onProgress?.({ type: 'info', message: `generating the built-in data set in ${folder} (once)` }),
  });
  return openImageFolderData(root, { validationSplit: config.validationSplit, testSplit });
}

const metric = (logs: tf.Logs | undefined, ...names: string[]): number => {
  for (const n of names) {
    const v = logs?.[n];
    if (typeof v === 'number') return v;
  }
  return Number.NaN;
};

/** Loss and accuracy of `model` on a dataset, in one pass. */
async function scoreTest(model: tf.LayersModel, dataset: tf.data.Dataset<tf.TensorContainer>, images: number): Promise<{ loss: number; accuracy: number; images: number }> {
  const out = await model.evaluateDataset(dataset as tf.data.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }>, {});
  const scalars = Array.isArray(out) ? out : [out];
  const values = await Promise.all(scalars.map(async (s) => (await s.data())[0] ?? Number.NaN));
  for (const s of scalars) s.dispose();
  return { loss: values[0] ?? Number.NaN, accuracy: values[1] ?? Number.NaN, images };
}

/** Runs the ablation described by `config`; see RunAblationOptions. */
export async function runAblation(config: AblationConfig, options: RunAblationOptions = {}): Promise<AblationRun> {
  const started = performance.now();
  const registry = options.registry ?? withRecipeArms(defaultArmRegistry());
  const emit = options.onProgress ?? ((): void => undefined);
  validateConfig(config, registry);
  const data = options.data ?? (await openConfigData(config, { ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }), onProgress: emit }));

  let backend: ResolvedBackend;
  try {
    backend = await resolveBackend(config.backend);
  } catch (error) {
    throw new InputError(error instanceof Error ? error.message : String(error));
  }

  const armOptions: ArmOptions = { size: config.size, batchSize: config.batchSize, shuffleWindow: config.shuffleWindow };
  const arms: Arm[] = config.arms.map((name) => registry.get(name));
  const validation = plainPipeline(armOptions);
  const prefetchCount = options.prefetch ?? 2;
  const numClasses = data.classes.length;
  const recipe = config.recipe ?? DEFAULT_RECIPE;
  const asInputError = (error: unknown): InputError => new InputError(error instanceof Error ? error.message : String(error));
  let modelFiles: ModelFiles | undefined;
  if (config.modelFile !== undefined) {
    try {
      modelFiles = await readModelFiles(config.modelFile);
      (await loadUserModel(modelFiles, { inputSize: config.size, numClasses, seed: 0, learningRate: config.learningRate })).dispose(); // fails now, not mid-ablation
    } catch (error) {
      throw asInputError(error);
    }
  }

  // Everything but arm and seed that changes the numbers.
  const hashed = {
    data: { kind: data.kind, fingerprint: data.fingerprint, classes: data.classes, train: data.trainCount, validation: data.validationCount, ...(data.testCount ? { test: data.testCount } : {}) },
    epochs: config.epochs,
    size: config.size,
    batchSize: config.batchSize,
    model: config.model,
    modelOptions: config.modelOptions,
    ...(modelFiles === undefined ? {} : { modelFile: modelFiles.fingerprint }),
    backend: backend.name,
    learningRate: config.learningRate,
    // Only a non-default recipe enters the hash, so runs made before recipes existed still resume.
    ...(JSON.stringify(recipe) === JSON.stringify(DEFAULT_RECIPE) ? {} : { recipe }),
    validationSplit: config.validationSplit,
    ...(config.testSplit ? { testSplit: config.testSplit } : {}),
    shuffleWindow: config.shuffleWindow,
    prefetch: prefetchCount,
    validationPipeline: validation.steps,
  };
  const configHash = shortHash(hashed);

  const out = path.resolve(config.out);
  await mkdir(out, { recursive: true });
  const resultsPath = path.join(out, 'results.json');
  const csvPath = path.join(out, 'results.csv');
  const runs: RunRecord[] = await readRuns(resultsPath);

  const plan = arms.flatMap((arm) =>
    config.seeds.map((seed) => {
      const pipeline = arm.build(seed, armOptions).then(ops.prefetch(prefetchCount));
      const key = `${arm.name}|${seed}|${configHash}|${shortHash(pipeline.steps)}`;
      return { arm, seed, pipeline, key };
    }),
  );
  const armInfo = arms.map((a) => ({ name: a.name, summary: a.summary, pipeline: a.build(config.seeds[0] ?? 0, armOptions).describe() }));
  const { data: _data, ...configRecord } = config;
  const snapshot = (complete: boolean): ResultsFile => {
    const current = plan.map((p) => runs.find((r) => r.key === p.key)).filter((r): r is RunRecord => r !== undefined);
    return {
      format: RESULTS_FORMAT,
      updatedAt: new Date().toISOString(),
      complete,
      configHash,
      config: { ...configRecord, recipe, data: data.location, builtinData: config.data === undefined, prefetch: prefetchCount },
      data: { kind: data.kind, location: data.location, classes: data.classes, trainCount: data.trainCount, validationCount: data.validationCount, testCount: data.testCount ?? 0, fingerprint: data.fingerprint },
      backend: { name: backend.name, tfBackend: backend.tfBackend, reason: backend.reason, skipped: backend.skipped },
      arms: armInfo,
      runs,
      summary: summarize(current, armInfo),
      ...analyzeRuns(current, { arms: config.arms, validationCount: data.validationCount, ...(config.baseline === undefined ? {} : { baseline: config.baseline }), ...(config.effect === undefined ? {} : { effect: config.effect }) }),
      design: PAIRED_DESIGN,
    };
  };
  const save = async (complete: boolean): Promise<ResultsFile> => {
    const file = snapshot(complete);
    await writeAtomic(resultsPath, `${JSON.stringify(file, null, 2)}\n`);
    await writeAtomic(csvPath, resultsCsv(plan.map((p) => runs.find((r) => r.key === p.key)).filter((r): r is RunRecord => r !== undefined)));
    return file;
  };

  const done = new Set(runs.map((r) => r.key));
  const todo = plan.filter((p) => !done.has(p.key));
  const batchesPerEpoch = Math.ceil(data.trainCount / config.batchSize);
  emit({ type: 'plan', total: plan.length, skipped: plan.length - todo.length, epochs: config.epochs, batchesPerEpoch, trainCount: data.trainCount, validationCount: data.validationCount, backend });
  for (const p of plan) {
    if (!done.has(p.key)) continue;
    const r = runs.find((x) => x.key === p.key);
    emit({ type: 'skip', arm: p.arm.name, seed: p.seed, valAccuracy: r?.epochs[r.epochs.length - 1]?.valAccuracy ?? Number.NaN });
  }

  // ETA: seconds per epoch so far (whole epochs), else per batch, times what is left.
  const epochSeconds: number[] = [];
  const totalEpochs = todo.length * config.epochs;
  const eta = (epochsDone: number, batchesIntoEpoch: number, secondsIntoEpoch: number): number | undefined => {
    const perEpoch =
      epochSeconds.length > 0 ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : batchesIntoEpoch >= 2 ? (secondsIntoEpoch / batchesIntoEpoch) * batchesPerEpoch * 1.15 : undefined;
    if (perEpoch === undefined) return undefined;
    return Math.max(0, (totalEpochs - epochsDone) * perEpoch - secondsIntoEpoch);
  };

  let trained = 0;
  let interrupted = options.signal?.aborted ?? false;
  let epochsDone = 0;
  for (const [i, p] of todo.entries()) {
    if (interrupted) break;
    const runNumber = i + 1;
    emit({ type: 'run-start', arm: p.arm.name, seed: p.seed, run: runNumber, runs: todo.length, pipeline: p.pipeline.describe() });
    const runStart = performance.now();
    const model = modelFiles
      ? await loadUserModel(modelFiles, { inputSize: config.size, numClasses, seed: p.seed, learningRate: config.learningRate })
      : createModel(config.model, { ...config.modelOptions, inputSize: config.size, numClasses, seed: p.seed, learningRate: config.learningRate } as Parameters<typeof createModel>[1]);
    const parameters = model.countParams();
    const recipeHooks = applyRecipe(model, recipe, config.learningRate, batchesPerEpoch, config.epochs);
    const epochs: EpochRecord[] = [];
    let epochStart = 0;
    let lastBatchEnd = 0;
    let batchInEpoch = 0;
    const mixing = new MixingObserver();
    let test: RunRecord['test'];
    try {
      const train = toTfDataset(data.train(p.seed).pipe(p.pipeline.operator, tap((b) => mixing.add(b))));
      const val = toTfDataset(data.validation().pipe(validation.operator));
      await model.fitDataset(train, {
        epochs: config.epochs,
        validationData: val,
        verbose: 0,
        callbacks: {
          onEpochBegin: async () => {
            epochStart = performance.now();
            lastBatchEnd = epochStart;
            batchInEpoch = 0;
          },
          onBatchBegin: async () => recipeHooks.onBatchBegin(),
          onBatchEnd: async () => {
            recipeHooks.onBatchEnd();
            batchInEpoch++;
            lastBatchEnd = performance.now();
            const s = (lastBatchEnd - epochStart) / 1000;
            const images = Math.min(batchInEpoch * config.batchSize, data.trainCount);
            emit({
              type: 'batch',
              arm: p.arm.name,
              seed: p.seed,
              run: runNumber,
              runs: todo.length,
              epoch: epochs.length + 1,
              epochs: config.epochs,
              batch: batchInEpoch,
              batches: batchesPerEpoch,
              imagesPerSecond: s > 0 ? images / s : 0,
              etaSeconds: eta(epochsDone, batchInEpoch, s),
            });
            if (options.signal?.aborted) model.stopTraining = true;
          },
          onEpochEnd: async (epoch, logs) => {
            const end = performance.now();
            const trainSeconds = (lastBatchEnd - epochStart) / 1000;
            const record: EpochRecord = {
              epoch: epoch + 1,
              loss: metric(logs, 'loss'),
              accuracy: metric(logs, 'acc', 'accuracy'),
              valLoss: metric(logs, 'val_loss'),
              valAccuracy: metric(logs, 'val_acc', 'val_accuracy'),
              seconds: (end - epochStart) / 1000,
              trainSeconds,
              imagesPerSecond: trainSeconds > 0 ? data.trainCount / trainSeconds : 0,
            };
            epochs.push(record);
            epochsDone++;
            epochSeconds.push(record.seconds);
            emit({ type: 'epoch', arm: p.arm.name, seed: p.seed, run: runNumber, runs: todo.length, epochs: config.epochs, record, etaSeconds: eta(epochsDone, 0, 0) });
            if (options.signal?.aborted) model.stopTraining = true;
          },
        },
      });
      // The test split: scored once, after the last epoch, never looked at before (see metrics.ts).
      if (data.test && epochs.length === config.epochs && !options.signal?.aborted) test = await scoreTest(model, toTfDataset(data.test().pipe(validation.operator)), data.testCount ?? 0);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
    }
    if (options.signal?.aborted || epochs.length < config.epochs) {
      interrupted = true;
      break;
    }
    const record: RunRecord = {
      key: p.key,
      configHash,
      arm: p.arm.name,
      seed: p.seed,
      backend: backend.name,
      pipeline: { train: p.pipeline.describe(), trainSteps: p.pipeline.steps, validation: validation.describe(), validationSteps: validation.steps },
      model: modelFiles ? { name: `file:${path.basename(modelFiles.file)}`, options: { fingerprint: modelFiles.fingerprint }, parameters } : { name: config.model, options: config.modelOptions, parameters },
      epochs,
      mixing: mixing.stats(),
      ...(test === undefined ? {} : { test }),
      seconds: (performance.now() - runStart) / 1000,
      finishedAt: new Date().toISOString(),
    };
    runs.push(record);
    trained++;
    await save(false);
    emit({ type: 'run-end', arm: p.arm.name, seed: p.seed, record });
  }

  const results = await save(!interrupted && plan.every((p) => runs.some((r) => r.key === p.key)));
  return {
    config,
    results,
    data,
    registry,
    armOptions,
    backend,
    resultsPath,
    csvPath,
    trained,
    skipped: plan.length - todo.length,
    interrupted,
    seconds: (performance.now() - started) / 1000,
  };
}

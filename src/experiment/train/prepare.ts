/**
 * What a process needs before it trains runs of one config, built alike by the parent and every
 * --jobs worker: the config validated, data and backend opened, the config hash, and the config
 * header the store keeps beside the runs. And trainAndSave: one claimed run trained and saved.
 */
import path from 'node:path';
import { backendKernelsInfo, resolveBackend, type ResolvedBackend } from '../../backend/index.js';
import type { ProbeResult } from '../../backend/webgpu/probe.js';
import { SkipLog } from '../../core/types.js';
import { DecodedImages } from '../../decode/memo.js';
import { loadUserModel, readModelFiles, type ModelFiles } from '../../models/userModel.js';
import { DEFAULT_PREPROCESS, isBackbone } from '../../models/backbone.js';
import { prepareWeights, type PreparedWeights } from '../../models/pretrained.js';
import type { PreprocessMode } from '../../core/preprocess.js';
import { preprocessInput } from '../../operators/preprocessInput.js';
import type { AblationData } from '../data/data.js';
import { cacheRoot } from '../data/builtin.js';
import { openConfigData, type InfoEvent } from '../data/open.js';
import { InputError } from '../errors.js';
import { buildArm, plainPipeline, type AnyOperator, type Arm, type ArmOptions, type ArmRegistry, type BuiltArm } from '../plan/arms.js';
import { withArmsModule } from '../plan/armsModule.js';
import { builtinArms } from '../plan/builtinArms.js';
import type { AblationConfig } from '../plan/config.js';
import { DECODED_MEMO_BYTES, describeBound, memoryBound, mib } from '../plan/memoryBound.js';
import { checkpointFile, configDir, configHashOf, runFileName } from '../plan/identity.js';
import { DEFAULT_RECIPE, type Recipe } from '../plan/recipe.js';
import { validateConfig } from '../plan/validate.js';
import { parseContrasts } from '../stats/contrasts.js';
import type { RunRecord } from '../record.js';
import { writeFileAtomic } from '../store/atomic.js';
import { skippedFiles } from '../store/results.js';
import type { ConfigHeader } from '../store/views.js';
import { removeCheckpoint } from './checkpoint.js';
import { trainRun, type TrainContext, type TrainEvent } from './train.js';
import { defined, errorMessage } from '../../core/idioms.js';

/** Everything a process needs to train runs of one config: what the parent and every worker build alike. */
export interface Prepared {
  readonly ctx: TrainContext;
  readonly registry: ArmRegistry;
  readonly arms: readonly Arm[];
  readonly header: ConfigHeader;
  readonly dir: string;
  /** Files this process's pipelines skipped (onError 'skip'), listed in each run it saves. */
  readonly skipLog: SkipLog;
}

/** What prepareAblation takes besides the config. */
export interface PrepareOptions {
  /** Where arm names are looked up; default: the built-in arms (builtinArms). */
  readonly registry?: ArmRegistry;
  /**
   * A module exporting arms (plan/armsModule.ts), added to the registry: each process imports it
   * itself, so its arms train with jobs > 1 and in every shard.
   */
  readonly armsModule?: string;
  /** Already opened data; default: config.data opened (see openConfigData), or the built-in set. */
  readonly data?: AblationData;
  /** Cache folder of the built-in data set (default: see cacheRoot). */
  readonly cacheDir?: string;
  readonly onProgress?: (event: InfoEvent) => void;
  /** Items the training pipeline may run ahead of the model (prefetch). Default 2. */
  readonly prefetch?: number;
  /** Threads of each run's native kernels (same numbers whatever the count). Default 1. */
  readonly threads?: number;
  /** The WebGPU adapter probe's result where the parent process ran it (resolveBackend's webgpuProbe). */
  readonly webgpuProbe?: ProbeResult;
}

/**
 * What one process keeps of decoded images (see DecodedImages): each image is decoded once per
 * process instead of once per epoch and run. 256 MiB holds 1,200 images at 32 px 23,000 times over,
 * and 5,700 at 224 px; past it, images go to a disk cache of resized bytes (decodedImages).
 */
export const DECODED_IMAGES_BYTES = DECODED_MEMO_BYTES;

const inputError = (error: unknown): InputError => new InputError(errorMessage(error));

/** One line for the entries the data's listing skipped (none: nothing said). */
function reportListingSkips(data: AblationData, emit: ((event: InfoEvent) => void) | undefined): void {
  if (!data.skipped || data.skipped.length === 0) return;
  const few = data.skipped
    .slice(0, 3)
    .map((s) => `${s.origin} (${s.reason})`)
    .join('; ');
  emit?.({
    type: 'info',
    message: `data: skipped ${data.skipped.length} entr${data.skipped.length === 1 ? 'y' : 'ies'} while listing: ${few}${data.skipped.length > 3 ? '; ...' : ''}`,
  });
}

/** The user's model files (--model path/model.json), loaded once here so that a bad file fails now, not mid-ablation. */
async function userModelFiles(config: AblationConfig, data: AblationData): Promise<ModelFiles | undefined> {
  if (config.modelFile === undefined) return undefined;
  try {
    const modelFiles = await readModelFiles(config.modelFile);
    (
      await loadUserModel(modelFiles, {
        inputSize: config.size,
        numClasses: data.classes.length,
        seed: 0,
        learningRate: config.learningRate,
      })
    ).dispose();
    return modelFiles;
  } catch (error) {
    throw inputError(error);
  }
}

/** --weights, resolved (imagenet fetched or found in the cache), read and checked once here, so that a bad file fails now. */
async function backboneWeights(config: AblationConfig, data: AblationData): Promise<PreparedWeights | undefined> {
  if (config.weights === undefined) return undefined;
  try {
    return await prepareWeights(config.weights, {
      model: config.model,
      modelOptions: config.modelOptions,
      size: config.size,
      numClasses: data.classes.length,
    });
  } catch (error) {
    throw inputError(error);
  }
}

/** A backbone's input scaling: the one its published weights expect (models/backbone.ts), for the zoo's backbones. */
const preprocessOf = (config: AblationConfig): PreprocessMode | undefined =>
  isBackbone(config.model) && config.modelFile === undefined ? DEFAULT_PREPROCESS[config.model] : undefined;

/** The operators after an arm's own (before prefetch): the backbone's preprocessing, if any. */
const afterArm = (preprocess: PreprocessMode | undefined): AnyOperator[] =>
  preprocess === undefined ? [] : [preprocessInput({ mode: preprocess }) as AnyOperator];

/** What a config hash is taken of: everything but arm and seed that changes the numbers. */
function configIdentity(
  config: AblationConfig,
  parts: {
    data: AblationData;
    backend: ResolvedBackend;
    recipe: Recipe;
    prefetch: number;
    validation: BuiltArm;
    modelFiles: ModelFiles | undefined;
    weights: PreparedWeights | undefined;
  },
): Record<string, unknown> {
  const { data, backend, recipe, prefetch, validation, modelFiles, weights } = parts;
  return {
    data: {
      kind: data.kind,
      fingerprint: data.fingerprint,
      classes: data.classes,
      train: data.trainCount,
      validation: data.validationCount,
      ...(data.testCount ? { test: data.testCount } : {}),
    },
    epochs: config.epochs,
    size: config.size,
    batchSize: config.batchSize,
    model: config.model,
    modelOptions: config.modelOptions,
    ...(modelFiles === undefined ? {} : { modelFile: modelFiles.fingerprint }),
    // The weights by their bytes (not their path), the fine-tuning policy as given.
    ...(weights === undefined ? {} : { weights: weights.sha256 }),
    ...(config.fineTune === undefined ? {} : { fineTune: config.fineTune }),
    backend: backend.name,
    ...(backend.adapter === undefined ? {} : { gpuAdapter: backend.adapter }),
    // What runs the kernels and with which rounding changes the numbers (the thread count does not).
    kernels: (({ kernels, numerics }) => ({ kernels, numerics }))(backendKernelsInfo()),
    learningRate: config.learningRate,
    // Only a non-default recipe enters the hash, so runs made before recipes existed still resume.
    ...(JSON.stringify(recipe) === JSON.stringify(DEFAULT_RECIPE) ? {} : { recipe }),
    validationSplit: config.validationSplit,
    ...(config.testSplit ? { testSplit: config.testSplit } : {}),
    shuffleWindow: config.shuffleWindow,
    prefetch,
    validationPipeline: validation.steps,
  };
}

/** The config header the store keeps beside the runs (config.json), and the views copy. */
function configHeader(ctx: TrainContext, arms: readonly Arm[]): ConfigHeader {
  const { config, data, backend, recipe, prefetch, configHash, armOptions, weights, preprocess } = ctx;
  const { data: _data, out: _out, ...configRecord } = config;
  return {
    format: 'mixstream-config/1',
    configHash,
    config: {
      ...configRecord,
      recipe,
      out: config.out,
      data: data.location,
      builtinData: config.data === undefined,
      prefetch,
      ...(weights === undefined
        ? {}
        : { weightsFile: weights.file, weightsSha256: weights.sha256, weightsSource: weights.url ?? weights.source }),
      ...(preprocess === undefined ? {} : { preprocess }),
    },
    data: {
      kind: data.kind,
      location: data.location,
      classes: data.classes,
      trainCount: data.trainCount,
      validationCount: data.validationCount,
      testCount: data.testCount ?? 0,
      ...(data.testSource === undefined ? {} : { testSource: data.testSource }),
      fingerprint: data.fingerprint,
    },
    backend: {
      name: backend.name,
      tfBackend: backend.tfBackend,
      reason: backend.reason,
      skipped: backend.skipped,
      ...(backend.adapter === undefined ? {} : { adapter: backend.adapter }),
      kernels: backendKernelsInfo(),
    },
    arms: arms.map((a) => ({
      name: a.name,
      summary: a.summary,
      pipeline: buildArm(a, config.seeds[0] ?? 0, armOptions, ...afterArm(preprocess)).describe(),
      ...defined({ parent: a.parent }),
    })),
    seeds: config.seeds,
    epochs: config.epochs,
  };
}

/**
 * The process's decoded images: the memo when every image of the data fits it at the config's
 * size; else the memo for the first 256 MiB and a disk cache of resized bytes (in the cache folder's
 * `decoded/`) for the rest, each image decoded once and read back after. With a data set of the
 * user's, one plan line says which and why, with the memory bound (plan/memoryBound.ts).
 */
function decodedImages(
  config: AblationConfig,
  data: AblationData,
  options: PrepareOptions,
  emit: ((event: InfoEvent) => void) | undefined,
): DecodedImages {
  const images = data.trainCount + data.validationCount + (data.testCount ?? 0);
  const bound = memoryBound({
    model: config.model,
    modelOptions: config.modelOptions,
    size: config.size,
    batchSize: config.batchSize,
    shuffleWindow: config.shuffleWindow,
    prefetch: options.prefetch ?? 2,
    images,
  });
  const disk = bound.decoded === 'disk' ? path.join(options.cacheDir ?? cacheRoot(), 'decoded') : undefined;
  const what = `${images.toLocaleString('en-US')} images at ${config.size} px = ${mib(bound.decodedBytes)}`;
  if (config.data !== undefined)
    emit?.({
      type: 'info',
      message:
        disk === undefined
          ? `decoded images: memo (${what}, within the ${mib(DECODED_IMAGES_BYTES)} memo); ${describeBound(bound)}`
          : `decoded images: disk cache in ${disk} (${what}, over the ${mib(DECODED_IMAGES_BYTES)} memo: the first ${mib(DECODED_IMAGES_BYTES)} stay in memory, the rest are resized once and read back from disk); ${describeBound(bound)}`,
    });
  return new DecodedImages(DECODED_IMAGES_BYTES, disk === undefined ? {} : { disk });
}

/** Validates the config, opens data and backend, and computes the config hash. */
export async function prepareAblation(config: AblationConfig, options: PrepareOptions = {}): Promise<Prepared> {
  const registry = await withArmsModule(options.registry ?? builtinArms(), options.armsModule);
  validateConfig(config, registry);
  if (config.contrasts !== undefined) {
    try {
      parseContrasts(config.contrasts, config.arms);
    } catch (error) {
      throw new InputError(`--contrasts: ${(error as Error).message}`);
    }
  }
  const emit = options.onProgress;
  const skipLog = new SkipLog();
  const data =
    options.data ??
    (await openConfigData(config, {
      ...defined({ cacheDir: options.cacheDir }),
      ...(emit ? { onProgress: emit } : {}),
      skipLog,
    }));
  reportListingSkips(data, emit);
  if (data.classes.length < 2)
    throw new InputError(
      `data: '${data.location}' holds ${data.classes.length === 0 ? 'no class' : `one class ('${data.classes[0]}')`}: there is nothing to learn (every accuracy would be 100%); an ablation needs 2 or more classes`,
    );
  let backend: ResolvedBackend;
  try {
    backend = await resolveBackend(config.backend, { threads: options.threads ?? 1, ...defined({ webgpuProbe: options.webgpuProbe }) });
  } catch (error) {
    throw inputError(error);
  }
  const armOptions: ArmOptions = {
    size: config.size,
    batchSize: config.batchSize,
    shuffleWindow: config.shuffleWindow,
    ...defined({ maxPixels: config.maxPixels }),
    ...defined({ onError: config.onError }),
    onSkip: skipLog.add,
    decoded: decodedImages(config, data, options, emit),
  };
  const arms = config.arms.map((name) => registry.get(name));
  const preprocess = preprocessOf(config);
  const validation = plainPipeline(armOptions, ...afterArm(preprocess));
  const prefetch = options.prefetch ?? 2;
  const recipe = config.recipe ?? DEFAULT_RECIPE;
  const modelFiles = await userModelFiles(config, data);
  const weights = await backboneWeights(config, data);
  const configHash = configHashOf(configIdentity(config, { data, backend, recipe, prefetch, validation, modelFiles, weights }));
  const ctx: TrainContext = {
    config,
    data,
    backend,
    armOptions,
    validation,
    prefetch,
    configHash,
    recipe,
    ...defined({ modelFiles }),
    ...defined({ weights }),
    ...defined({ preprocess }),
  };
  return { ctx, registry, arms, header: configHeader(ctx, arms), dir: configDir(config.out, configHash), skipLog };
}

/** What one attempt at a run gave. */
export type RunOutcome = { readonly kind: 'done'; readonly record: RunRecord } | { readonly kind: 'stopped' };

/**
 * Trains one claimed run in this process and saves it: the run file (atomic) first, then the
 * checkpoint goes. Shared by the parent (jobs 1) and the workers.
 */
export async function trainAndSave(
  prepared: Prepared,
  arm: Arm,
  seed: number,
  options: { readonly keepCheckpoint?: boolean; readonly signal?: AbortSignal; readonly onEvent?: (e: TrainEvent) => void },
): Promise<RunOutcome> {
  const checkpoint = checkpointFile(prepared.dir, arm.name, seed);
  const trainedRecord = await trainRun(prepared.ctx, arm, seed, { checkpoint, ...options });
  if (trainedRecord === undefined) return { kind: 'stopped' };
  // What was skipped so far in this process (listing and decoding): the views list each file once.
  const skipped = skippedFiles([...(prepared.ctx.data.skipped ?? []), ...prepared.skipLog.errors]);
  const record: RunRecord = skipped.length > 0 ? { ...trainedRecord, skipped } : trainedRecord;
  await writeFileAtomic(path.join(prepared.dir, runFileName(arm.name, seed)), `${JSON.stringify(record, null, 2)}\n`);
  if (!options.keepCheckpoint) await removeCheckpoint(checkpoint);
  return { kind: 'done', record };
}

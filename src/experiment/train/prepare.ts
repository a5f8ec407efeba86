/**
 * What a process needs before it trains runs of one config, built alike by the parent and every
 * --jobs worker: the config validated, data and backend opened, the config hash, and the config
 * header the store keeps beside the runs. And trainAndSave: one claimed run trained and saved.
 */
import path from 'node:path';
import { backendKernelsInfo, resolveBackend, type ResolvedBackend } from '../../backend/index.js';
import { SkipLog } from '../../core/types.js';
import { DecodedImages } from '../../decode/memo.js';
import { loadUserModel, readModelFiles, type ModelFiles } from '../../models/userModel.js';
import type { AblationData } from '../data/data.js';
import { openConfigData, type InfoEvent } from '../data/open.js';
import { InputError } from '../errors.js';
import { buildArm, plainPipeline, type Arm, type ArmOptions, type ArmRegistry, type BuiltArm } from '../plan/arms.js';
import { builtinArms } from '../plan/builtinArms.js';
import type { AblationConfig } from '../plan/config.js';
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
  /** Already opened data; default: config.data opened (see openConfigData), or the built-in set. */
  readonly data?: AblationData;
  /** Cache folder of the built-in data set (default: see cacheRoot). */
  readonly cacheDir?: string;
  readonly onProgress?: (event: InfoEvent) => void;
  /** Items the training pipeline may run ahead of the model (prefetch). Default 2. */
  readonly prefetch?: number;
  /** Threads of each run's native kernels (same numbers whatever the count). Default 1. */
  readonly threads?: number;
}

/**
 * What one process keeps of decoded images (see DecodedImages): each image is decoded once per
 * process instead of once per epoch and run. 256 MiB holds 1,200 images at 32 px 23,000 times over,
 * and 5,700 at 224 px; past it, images are decoded each time as before.
 */
export const DECODED_IMAGES_BYTES = 256 * 2 ** 20;

const inputError = (error: unknown): InputError => new InputError(error instanceof Error ? error.message : String(error));

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
  },
): Record<string, unknown> {
  const { data, backend, recipe, prefetch, validation, modelFiles } = parts;
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
    backend: backend.name,
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
  const { config, data, backend, recipe, prefetch, configHash, armOptions } = ctx;
  const { data: _data, out: _out, ...configRecord } = config;
  return {
    format: 'mixstream-config/1',
    configHash,
    config: { ...configRecord, recipe, out: config.out, data: data.location, builtinData: config.data === undefined, prefetch },
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
      kernels: backendKernelsInfo(),
    },
    arms: arms.map((a) => ({
      name: a.name,
      summary: a.summary,
      pipeline: buildArm(a, config.seeds[0] ?? 0, armOptions).describe(),
      ...(a.parent === undefined ? {} : { parent: a.parent }),
    })),
    seeds: config.seeds,
    epochs: config.epochs,
  };
}

/** Validates the config, opens data and backend, and computes the config hash. */
export async function prepareAblation(config: AblationConfig, options: PrepareOptions = {}): Promise<Prepared> {
  const registry = options.registry ?? builtinArms();
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
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(emit ? { onProgress: emit } : {}),
      skipLog,
    }));
  reportListingSkips(data, emit);
  let backend: ResolvedBackend;
  try {
    backend = await resolveBackend(config.backend, { threads: options.threads ?? 1 });
  } catch (error) {
    throw inputError(error);
  }
  const armOptions: ArmOptions = {
    size: config.size,
    batchSize: config.batchSize,
    shuffleWindow: config.shuffleWindow,
    ...(config.maxPixels === undefined ? {} : { maxPixels: config.maxPixels }),
    ...(config.onError === undefined ? {} : { onError: config.onError }),
    onSkip: skipLog.add,
    decoded: new DecodedImages(DECODED_IMAGES_BYTES),
  };
  const arms = config.arms.map((name) => registry.get(name));
  const validation = plainPipeline(armOptions);
  const prefetch = options.prefetch ?? 2;
  const recipe = config.recipe ?? DEFAULT_RECIPE;
  const modelFiles = await userModelFiles(config, data);
  const configHash = configHashOf(configIdentity(config, { data, backend, recipe, prefetch, validation, modelFiles }));
  const ctx: TrainContext = {
    config,
    data,
    backend,
    armOptions,
    validation,
    prefetch,
    configHash,
    recipe,
    ...(modelFiles === undefined ? {} : { modelFiles }),
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

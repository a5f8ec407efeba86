/**
 * Runs an ablation: plans the (arm, seed) runs of a config, keeps the share of a shard, claims each
 * run in the store before training it, trains on `jobs` processes (this one, and jobs - 1 forked
 * workers: see worker.ts), and rebuilds the views (results.json, results.csv) after each
 * finished run. Training one run is train.ts; keeping runs is store.ts; views are views.ts.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { backendKernelsInfo, resolveBackend, type ResolvedBackend } from '../backend/index.js';
import { SkipLog } from '../core/types.js';
import { DecodedImages } from '../decode/memo.js';
import { MODEL_NAMES } from '../models/index.js';
import { loadUserModel, readModelFiles, type ModelFiles } from '../models/userModel.js';
import { buildArm, defaultArmRegistry, plainPipeline, type Arm, type ArmOptions, type ArmRegistry } from './arms.js';
import { ensureBuiltinDataset } from './builtin.js';
import { shortHash, type AblationConfig } from './config.js';
import { openImageFolderData, type AblationData } from './data.js';
import { checkSplits, openDetectedData } from './detected.js';
import { withRecipeArms } from './recipeArms.js';
import { checkRecipe, DEFAULT_RECIPE } from './recipe.js';
import { InputError } from './errors.js';
import { checkTrainingShape } from './limits.js';
import { skippedFiles, type EpochRecord, type ResultsFile, type RunRecord } from './results.js';
import {
  checkOutFolder,
  claimRun,
  cleanStaleTemps,
  configDir,
  moveAside,
  readRunFile,
  runFileName,
  writeFileAtomic,
  type Claim,
} from './store.js';
import { checkpointFile, removeCheckpoint } from './checkpoint.js';
import { runKey, runPipeline, trainRun, type TrainContext, type TrainEvent } from './train.js';
import { migrateResultsFile, writeConfigHeader, writeViews, type ConfigHeader, type Views } from './views.js';
import { WorkerPool } from './pool.js';

/** What the runner tells a progress display. */
export type ProgressEvent =
  | { readonly type: 'info'; readonly message: string }
  | {
      readonly type: 'plan';
      readonly total: number;
      readonly skipped: number;
      readonly epochs: number;
      readonly batchesPerEpoch: number;
      readonly trainCount: number;
      readonly validationCount: number;
      /** Where the test split comes from (AblationData.testSource); absent: no test split. */
      readonly testSource?: string;
      readonly backend: ResolvedBackend;
      readonly jobs?: number;
      readonly shard?: Shard;
    }
  | { readonly type: 'skip'; readonly arm: string; readonly seed: number; readonly valAccuracy: number }
  | {
      readonly type: 'run-start';
      readonly arm: string;
      readonly seed: number;
      readonly run: number;
      readonly runs: number;
      readonly pipeline: string;
    }
  | { readonly type: 'resume'; readonly arm: string; readonly seed: number; readonly epoch: number; readonly epochs: number }
  | {
      readonly type: 'batch';
      readonly arm: string;
      readonly seed: number;
      readonly run: number;
      readonly runs: number;
      readonly epoch: number;
      readonly epochs: number;
      readonly batch: number;
      readonly batches: number;
      readonly imagesPerSecond: number;
      readonly etaSeconds: number | undefined;
    }
  | {
      readonly type: 'epoch';
      readonly arm: string;
      readonly seed: number;
      readonly run: number;
      readonly runs: number;
      readonly epochs: number;
      readonly record: EpochRecord;
      readonly etaSeconds: number | undefined;
    }
  | { readonly type: 'run-end'; readonly arm: string; readonly seed: number; readonly record: RunRecord }
  | {
      readonly type: 'run-stopped';
      readonly arm: string;
      readonly seed: number;
      /** The last epoch on disk in its checkpoint, where a rerun resumes; 0: none finished. */
      readonly checkpointed: number;
      readonly epochs: number;
    };

/** A deterministic share of the plan: runs i with i % count === index. */
export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

export interface RunAblationOptions {
  /** Where arm names are looked up; default: the reference arms. Custom registries train in this process only (jobs 1). */
  readonly registry?: ArmRegistry;
  /** Already opened data; default: config.data opened as an image folder, or the built-in set. */
  readonly data?: AblationData;
  /** Cache folder of the built-in data set (default: see cacheRoot). */
  readonly cacheDir?: string;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Abort to stop after the current batch: runs in progress keep their last epoch's checkpoint. */
  readonly signal?: AbortSignal;
  /** Items the training pipeline may run ahead of the model (prefetch). Default 2. */
  readonly prefetch?: number;
  /** Runs trained at once, each in its own process (1: in this process). Default 1. */
  readonly jobs?: number;
  /** Threads of each run's native kernels (same numbers whatever the count). Default 1: the runs, not the threads, fill the cores. */
  readonly threads?: number;
  /** Train only this share of the plan (see Shard). */
  readonly shard?: Shard;
  /** Keep each run's last checkpoint after it finishes. Default false. */
  readonly keepCheckpoints?: boolean;
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
  /** Planned runs (of this shard) that are not finished: interrupted, or left to other shards. */
  readonly missing: ReadonlyArray<{ readonly arm: string; readonly seed: number }>;
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
  for (const arm of config.arms)
    if (!registry.has(arm)) throw new InputError(`unknown arm '${arm}'; known arms: ${registry.names().join(', ')}`);
  if (config.seeds.length === 0) throw new InputError('no seeds given');
  for (const s of config.seeds) if (!Number.isSafeInteger(s) || s < 0) throw new InputError(`seeds must be integers >= 0, got ${s}`);
  if (new Set(config.seeds).size !== config.seeds.length) throw new InputError(`seeds listed twice: ${config.seeds.join(',')}`);
  if (!MODEL_NAMES.includes(config.model)) throw new InputError(`unknown model '${config.model}'; known models: ${MODEL_NAMES.join(', ')}`);
  if (!(config.learningRate > 0 && Number.isFinite(config.learningRate)))
    throw new InputError(`learning rate must be a number > 0, got ${config.learningRate}`);
  checkSplits(config.validationSplit, config.testSplit ?? 0); // both fractions of the whole: their sum below 1
  checkTrainingShape(config); // model options, and size x batch x model against the memory budget
  if (config.recipe !== undefined) {
    try {
      checkRecipe(config.recipe);
    } catch (error) {
      throw new InputError(error instanceof Error ? error.message : String(error));
    }
  }
  if (config.baseline !== undefined && !config.arms.includes(config.baseline))
    throw new InputError(`--baseline '${config.baseline}' is not one of the arms: ${config.arms.join(', ')}`);
  if (config.effect !== undefined && !(config.effect > 0 && Number.isFinite(config.effect)))
    throw new InputError(`--effect must be a number of accuracy points > 0, got ${config.effect}`);
}

/** Opens the config's data: any data set openDataset recognises, or the built-in one (generated on first use). */
export async function openConfigData(
  config: AblationConfig,
  options: { readonly cacheDir?: string; readonly onProgress?: (event: ProgressEvent) => void; readonly skipLog?: SkipLog } = {},
): Promise<AblationData> {
  const testSplit = config.testSplit ?? 0;
  if (config.data !== undefined || config.test !== undefined)
    return openDetectedData(
      config.data ?? (await ensureBuiltinDataset(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir })),
      {
        ...(config.test === undefined ? {} : { test: config.test }),
        validationSplit: config.validationSplit,
        seeds: config.seeds,
        testSplit,
        ...(config.onError === undefined ? {} : { onError: config.onError }),
        ...(options.skipLog === undefined ? {} : { onSkip: options.skipLog.add }),
      },
    );
  const root = await ensureBuiltinDataset({
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    onGenerate: (folder) => options.onProgress?.({ type: 'info', message: `generating the built-in data set in ${folder} (once)` }),
  });
  return openImageFolderData(root, { validationSplit: config.validationSplit, testSplit });
}

/**
 * Shard `index` of `count`'s share of the plan (arms x seeds, in config order): every count-th
 * run from `index`, so shares are disjoint, cover the plan, and mix arms (similar run times).
 */
export function shardShare<T>(plan: readonly T[], shard: Shard): T[] {
  return plan.filter((_, i) => i % shard.count === shard.index);
}

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

/** Validates the config, opens data and backend, and computes the config hash. */
/**
 * What one process keeps of decoded images (see DecodedImages): each image is decoded once per
 * process instead of once per epoch and run. 256 MiB holds 1,200 images at 32 px 23,000 times over,
 * and 5,700 at 224 px; past it, images are decoded each time as before.
 */
export const DECODED_IMAGES_BYTES = 256 * 2 ** 20;

export async function prepareAblation(
  config: AblationConfig,
  options: Pick<RunAblationOptions, 'registry' | 'data' | 'cacheDir' | 'onProgress' | 'prefetch' | 'threads'> = {},
): Promise<Prepared> {
  const registry = options.registry ?? withRecipeArms(defaultArmRegistry());
  validateConfig(config, registry);
  const emit = options.onProgress;
  const skipLog = new SkipLog();
  const data =
    options.data ??
    (await openConfigData(config, {
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(emit ? { onProgress: emit } : {}),
      skipLog,
    }));
  if (data.skipped && data.skipped.length > 0) {
    const few = data.skipped
      .slice(0, 3)
      .map((s) => `${s.origin} (${s.reason})`)
      .join('; ');
    emit?.({
      type: 'info',
      message: `data: skipped ${data.skipped.length} entr${data.skipped.length === 1 ? 'y' : 'ies'} while listing: ${few}${data.skipped.length > 3 ? '; ...' : ''}`,
    });
  }
  let backend: ResolvedBackend;
  try {
    backend = await resolveBackend(config.backend, { threads: options.threads ?? 1 });
  } catch (error) {
    throw new InputError(error instanceof Error ? error.message : String(error));
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
  let modelFiles: ModelFiles | undefined;
  if (config.modelFile !== undefined) {
    try {
      modelFiles = await readModelFiles(config.modelFile);
      // Loaded once here so that a bad file fails now, not mid-ablation.
      (
        await loadUserModel(modelFiles, {
          inputSize: config.size,
          numClasses: data.classes.length,
          seed: 0,
          learningRate: config.learningRate,
        })
      ).dispose();
    } catch (error) {
      throw new InputError(error instanceof Error ? error.message : String(error));
    }
  }
  // Everything but arm and seed that changes the numbers.
  const configHash = shortHash({
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
  });
  const { data: _data, out: _out, ...configRecord } = config;
  const header: ConfigHeader = {
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
    arms: arms.map((a) => ({ name: a.name, summary: a.summary, pipeline: buildArm(a, config.seeds[0] ?? 0, armOptions).describe() })),
    seeds: config.seeds,
    epochs: config.epochs,
  };
  return {
    ctx: {
      config,
      data,
      backend,
      armOptions,
      validation,
      prefetch,
      configHash,
      recipe,
      ...(modelFiles === undefined ? {} : { modelFiles }),
    },
    registry,
    arms,
    header,
    dir: configDir(config.out, configHash),
    skipLog,
  };
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

/** Runs the ablation described by `config`; see RunAblationOptions. */
export async function runAblation(config: AblationConfig, options: RunAblationOptions = {}): Promise<AblationRun> {
  const started = performance.now();
  const emit = options.onProgress ?? ((): void => undefined);
  const jobs = options.jobs ?? 1;
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new InputError(`jobs must be a positive integer, got ${jobs}`);
  const shard = options.shard;
  if (
    shard &&
    !(
      Number.isSafeInteger(shard.index) &&
      Number.isSafeInteger(shard.count) &&
      shard.count >= 1 &&
      shard.index >= 0 &&
      shard.index < shard.count
    )
  ) {
    throw new InputError(`shard must be INDEX/COUNT with 0 <= INDEX < COUNT, got ${shard.index}/${shard.count}`);
  }
  if (jobs > 1 && (options.registry !== undefined || options.data !== undefined))
    throw new InputError(
      "jobs > 1 trains in worker processes, which know only the default arms and the config's data: pass jobs 1 with a custom registry or data",
    );
  // This process trains one run at a time too; the other jobs - 1 are worker processes. They start
  // now, so that their start-up (Node, tfjs, the data, the backend) runs while this process
  // prepares; the built-in data set first, so only one process ever generates it.
  if (jobs > 1 && config.data === undefined)
    await ensureBuiltinDataset({
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      onGenerate: (folder) => emit({ type: 'info', message: `generating the built-in data set in ${folder} (once)` }),
    });
  const pool =
    jobs > 1
      ? new WorkerPool(jobs - 1, {
          config,
          ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
          prefetch: options.prefetch ?? 2,
          threads: options.threads ?? 1,
          keepCheckpoints: options.keepCheckpoints ?? false,
        })
      : undefined;
  pool?.startAll();
  try {
    return await runPlanned(config, options, started, pool);
  } finally {
    await pool?.close();
  }
}

/** runAblation once its workers (if any) are starting: prepare, plan, train, rebuild the views. */
async function runPlanned(
  config: AblationConfig,
  options: RunAblationOptions,
  started: number,
  pool: WorkerPool | undefined,
): Promise<AblationRun> {
  const emit = options.onProgress ?? ((): void => undefined);
  const jobs = (pool?.size ?? 0) + 1;
  const shard = options.shard;

  const prepared = await prepareAblation(config, options);
  const { ctx, arms, dir } = prepared;
  pool?.expect(ctx.configHash);
  const out = path.resolve(config.out);
  // Before any training: a run must never train only to find nowhere to go.
  // The built-in data's cache folder too: an output folder in it would be listed as a class.
  const outProblem = await checkOutFolder(out, ctx.data.location);
  if (outProblem !== undefined) throw new InputError(outProblem);
  for (const note of await migrateResultsFile(out)) emit({ type: 'info', message: note });
  await mkdir(dir, { recursive: true });
  for (const name of await cleanStaleTemps(dir)) emit({ type: 'info', message: `removed a stale temp file ${name}` });
  for (const name of await cleanStaleTemps(out)) emit({ type: 'info', message: `removed a stale temp file ${name}` });
  const header = await writeConfigHeader(out, prepared.header);
  // The views of this command are about its own arms and seeds (another command may add others to the header).
  const viewHeader: ConfigHeader = { ...header, config: prepared.header.config, arms: prepared.header.arms, seeds: config.seeds };

  const plan = arms.flatMap((arm) =>
    config.seeds.map((seed) => ({ arm, seed, key: runKey(arm.name, seed, ctx.configHash, runPipeline(ctx, arm, seed)) })),
  );
  const keys = new Set(plan.map((p) => p.key));
  const mine = shard ? shardShare(plan, shard) : plan;

  // What is finished already: a valid run file with the planned key. One of an older pipeline of
  // the same arm is moved aside (kept, named) and trained again.
  const done = new Map<string, RunRecord>();
  const finished = async (p: (typeof plan)[number]): Promise<RunRecord | undefined> => {
    const file = path.join(dir, runFileName(p.arm.name, p.seed));
    const r = await readRunFile(file, { arm: p.arm.name, seed: p.seed, configHash: ctx.configHash, epochs: config.epochs });
    if (r.kind === 'damaged')
      emit({
        type: 'info',
        message: `moved damaged run file ${file} aside to ${path.basename(r.movedTo)}: ${r.reason}; training it again`,
      });
    if (r.kind !== 'ok') return undefined;
    if (r.record.key !== p.key) {
      const to = await moveAside(file, 'superseded');
      emit({
        type: 'info',
        message: `run file ${file} is of another pipeline (${r.record.key}); kept as ${path.basename(to)}, training it again`,
      });
      return undefined;
    }
    return r.record;
  };
  for (const p of mine) {
    const r = await finished(p);
    if (r) done.set(p.key, r);
  }
  const todo = mine.filter((p) => !done.has(p.key));
  const batchesPerEpoch = Math.ceil(ctx.data.trainCount / config.batchSize);
  const workers = Math.min(jobs, Math.max(1, todo.length));
  emit({
    type: 'plan',
    total: mine.length,
    skipped: mine.length - todo.length,
    epochs: config.epochs,
    batchesPerEpoch,
    trainCount: ctx.data.trainCount,
    validationCount: ctx.data.validationCount,
    ...(ctx.data.testSource === undefined ? {} : { testSource: ctx.data.testSource }),
    backend: ctx.backend,
    jobs: workers,
    ...(shard ? { shard } : {}),
  });
  for (const p of mine) {
    const r = done.get(p.key);
    if (r) emit({ type: 'skip', arm: p.arm.name, seed: p.seed, valAccuracy: r.epochs[r.epochs.length - 1]?.valAccuracy ?? Number.NaN });
  }

  // ETA: seconds per epoch so far (whole epochs), else per batch, times what is left, over the jobs.
  const epochSeconds: number[] = [];
  const totalEpochs = todo.length * config.epochs;
  let epochsDone = 0;
  const eta = (batchesIntoEpoch: number, secondsIntoEpoch: number): number | undefined => {
    const perEpoch =
      epochSeconds.length > 0
        ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length
        : batchesIntoEpoch >= 2
          ? (secondsIntoEpoch / batchesIntoEpoch) * batchesPerEpoch * 1.15
          : undefined;
    if (perEpoch === undefined) return undefined;
    return Math.max(0, ((totalEpochs - epochsDone) * perEpoch) / workers - secondsIntoEpoch);
  };

  let trained = 0;
  const signal = options.signal;
  const onTrainEvent =
    (p: (typeof plan)[number], run: number) =>
    (e: TrainEvent): void => {
      const base = { arm: p.arm.name, seed: p.seed };
      switch (e.type) {
        case 'resume':
          emit({ type: 'resume', ...base, epoch: e.epoch, epochs: config.epochs });
          epochsDone += e.epoch;
          break;
        case 'checkpoint-ignored':
          emit({ type: 'info', message: `${p.arm.name} seed ${p.seed}: ${e.reason}` });
          break;
        case 'batch':
          emit({
            type: 'batch',
            ...base,
            run,
            runs: todo.length,
            epoch: e.epoch,
            epochs: config.epochs,
            batch: e.batch,
            batches: e.batches,
            imagesPerSecond: e.imagesPerSecond,
            etaSeconds: eta(e.batch, e.secondsIntoEpoch),
          });
          break;
        case 'epoch':
          epochsDone++;
          epochSeconds.push(e.record.seconds);
          emit({ type: 'epoch', ...base, run, runs: todo.length, epochs: config.epochs, record: e.record, etaSeconds: eta(0, 0) });
          break;
      }
    };

  const stopPool = (): void => pool?.stop();
  signal?.addEventListener('abort', stopPool);
  // Every rebuild reads the whole store; what it finds damaged (moved aside) is said at once.
  const rebuild = async (): Promise<Views> => {
    const v = await writeViews(out, viewHeader, keys);
    for (const d of v.damaged) emit({ type: 'info', message: d });
    return v;
  };
  let views = await rebuild();
  // Rebuilt after each run, one rebuild at a time, while the next run trains (a slot does not wait
  // for it); a failure is kept and thrown at the end, the runs themselves being saved already.
  let viewWrite = Promise.resolve();
  let viewFailure: unknown;
  const refreshViews = (): Promise<void> =>
    (viewWrite = viewWrite
      .then(async () => {
        views = await rebuild();
      })
      .catch((error: unknown) => {
        viewFailure ??= error;
      }));

  /** Claims and trains one run; 'busy' when a live process holds it. */
  const attempt = async (p: (typeof plan)[number], slot: number): Promise<'done' | 'busy' | 'stopped'> => {
    const claim: Claim | undefined = await claimRun(dir, p.arm.name, p.seed, {
      onSteal: (why) => emit({ type: 'info', message: `${p.arm.name} seed ${p.seed}: took over an abandoned claim (${why})` }),
      onLost: () =>
        emit({
          type: 'info',
          message: `${p.arm.name} seed ${p.seed}: our claim was taken over by another process (its lock is left to it)`,
        }),
    });
    if (!claim) return 'busy';
    try {
      // Finished by another process between our look and our claim.
      const already = await finished(p);
      if (already) {
        done.set(p.key, already);
        emit({
          type: 'skip',
          arm: p.arm.name,
          seed: p.seed,
          valAccuracy: already.epochs[already.epochs.length - 1]?.valAccuracy ?? Number.NaN,
        });
        return 'done';
      }
      if (signal?.aborted) return 'stopped';
      // Numbered by place in the plan, not by start order, so the numbers read the same whatever the jobs.
      const run = todo.indexOf(p) + 1;
      emit({
        type: 'run-start',
        arm: p.arm.name,
        seed: p.seed,
        run,
        runs: todo.length,
        pipeline: runPipeline(ctx, p.arm, p.seed).describe(),
      });
      const report = onTrainEvent(p, run);
      // Epoch events come once the epoch's checkpoint is on disk.
      let checkpointed = 0;
      const onEvent = (e: TrainEvent): void => {
        if (e.type === 'epoch') checkpointed = e.record.epoch;
        else if (e.type === 'resume') checkpointed = e.epoch;
        report(e);
      };
      // Slot 0 is this process; slot i > 0 is worker i - 1.
      const outcome =
        pool && slot > 0
          ? await pool.run(slot - 1, p.arm.name, p.seed, onEvent)
          : await trainAndSave(prepared, p.arm, p.seed, {
              keepCheckpoint: options.keepCheckpoints ?? false,
              ...(signal ? { signal } : {}),
              onEvent,
            });
      if (outcome.kind === 'stopped') {
        emit({ type: 'run-stopped', arm: p.arm.name, seed: p.seed, checkpointed, epochs: config.epochs });
        return 'stopped';
      }
      done.set(p.key, outcome.record);
      trained++;
      void refreshViews();
      emit({ type: 'run-end', arm: p.arm.name, seed: p.seed, record: outcome.record });
      return 'done';
    } finally {
      await claim.release();
    }
  };

  // Each slot takes the next unclaimed run; runs held by another live process are retried once
  // the queue is empty (they finish there, or their claim goes stale and is taken over here).
  const queue = [...todo];
  const waiting: Array<(typeof plan)[number]> = [];
  let failure: unknown;
  const slotLoop = async (slot: number): Promise<void> => {
    while (!signal?.aborted && failure === undefined) {
      const p = queue.shift() ?? waiting.shift();
      if (!p) return;
      if (done.has(p.key)) continue;
      const r = await attempt(p, slot);
      if (r === 'busy') {
        waiting.push(p);
        if (queue.length === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  try {
    await Promise.all(
      Array.from({ length: workers }, (_, slot) =>
        slotLoop(slot).catch((error: unknown) => {
          failure ??= error;
          pool?.stop();
        }),
      ),
    );
  } finally {
    signal?.removeEventListener('abort', stopPool);
    await pool?.close();
  }
  if (failure !== undefined) throw failure;
  await refreshViews();
  if (viewFailure !== undefined) throw viewFailure;
  const missing = mine.filter((p) => !done.has(p.key)).map((p) => ({ arm: p.arm.name, seed: p.seed }));
  return {
    config,
    results: views.results,
    data: ctx.data,
    registry: prepared.registry,
    armOptions: ctx.armOptions,
    backend: ctx.backend,
    resultsPath: views.resultsPath,
    csvPath: views.csvPath,
    trained,
    skipped: mine.length - todo.length,
    missing,
    interrupted: (signal?.aborted ?? false) && missing.length > 0,
    seconds: (performance.now() - started) / 1000,
  };
}

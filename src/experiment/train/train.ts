/**
 * Trains ONE (arm, seed) run: a freshly seeded zoo model, fitDataset on the arm's pipeline,
 * validated on the shared split every epoch, with a checkpoint after every epoch so a killed run
 * resumes at its last finished epoch. Knows nothing of plans, claims, processes or views: the
 * scheduler (run/scheduler.ts) decides what to train where, the store (store/) keeps what is finished.
 */
import path from 'node:path';
import tf from '#tfjs';
import type { ResolvedBackend } from '../../backend/index.js';
import { tap } from 'rxjs';
import { createModel } from '../../models/index.js';
import { applyFineTune, trainedWeights } from '../../models/finetune.js';
import { applyWeights } from '../../models/weights.js';
import type { PreparedWeights } from '../../models/pretrained.js';
import type { PreprocessMode } from '../../core/preprocess.js';
import { preprocessInput } from '../../operators/preprocessInput.js';
import { loadUserModel, type ModelFiles } from '../../models/userModel.js';
import { toTfDataset } from '../../sinks/toTfDataset.js';
import { prefetch } from '../../operators/prefetch.js';
import { buildArm, type AnyOperator, type Arm, type ArmOptions, type BuiltArm } from '../plan/arms.js';
import { encodeCheckpoint, readCheckpoint, restoreCheckpoint, takeCheckpoint } from './checkpoint.js';
import type { AblationConfig } from '../plan/config.js';
import { runKey } from '../plan/identity.js';
import type { AblationData } from '../data/data.js';
import { EpochLog } from './epochLog.js';
import { checkRecipe, learningRateAt, type Recipe } from '../plan/recipe.js';
import { encodeBits, type EpochRecord, type RunRecord } from '../record.js';
import { scoreSplit } from './score.js';
import { defined } from '../../core/idioms.js';
import { moveAside } from '../store/runFiles.js';

/** What every run of one config shares. */
export interface TrainContext {
  readonly config: AblationConfig;
  readonly data: AblationData;
  readonly backend: ResolvedBackend;
  readonly armOptions: ArmOptions;
  readonly validation: BuiltArm;
  readonly prefetch: number;
  readonly configHash: string;
  /** Optimizer, schedule and weight decay of every run. */
  readonly recipe: Recipe;
  /** The user's model (--model path/model.json), the shared start of every run; else the zoo's. */
  readonly modelFiles?: ModelFiles;
  /** --weights, read and checked once: each run's backbone starts from them (models/weights.ts). */
  readonly weights?: PreparedWeights;
  /** The backbone's input scaling (preprocessInput), the last step before prefetch in training and validation. */
  readonly preprocess?: PreprocessMode;
}

/** What a run reports while it trains (the scheduler adds arm and seed). */
export type TrainEvent =
  | { readonly type: 'resume'; readonly epoch: number }
  | { readonly type: 'checkpoint-ignored'; readonly reason: string }
  | {
      readonly type: 'batch';
      readonly epoch: number;
      readonly batch: number;
      readonly batches: number;
      readonly imagesPerSecond: number;
      readonly secondsIntoEpoch: number;
    }
  | { readonly type: 'epoch'; readonly record: EpochRecord };

export interface TrainRunOptions {
  /** Where the run's checkpoint lives (a file path); undefined: no checkpoints. */
  readonly checkpoint?: string;
  /** Keep the checkpoint once the run is finished (default: remove it). */
  readonly keepCheckpoint?: boolean;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: TrainEvent) => void;
}

/** The run's pipeline: the arm's, then prefetch. */
export function runPipeline(ctx: Pick<TrainContext, 'armOptions' | 'prefetch' | 'preprocess'>, arm: Arm, seed: number): BuiltArm {
  const pre = ctx.preprocess === undefined ? [] : [preprocessInput({ mode: ctx.preprocess }) as AnyOperator];
  return buildArm(arm, seed, ctx.armOptions, ...pre, prefetch(ctx.prefetch));
}

const metric = (logs: tf.Logs | undefined, ...names: string[]): number => {
  for (const n of names) {
    const v = logs?.[n];
    if (typeof v === 'number') return v;
  }
  return Number.NaN;
};

/** A fresh model for the run: the user's (--model), or the zoo's, seeded with the run's seed. */
async function newModel(ctx: TrainContext, seed: number): Promise<tf.LayersModel> {
  const { config } = ctx;
  const common = { inputSize: config.size, numClasses: ctx.data.classes.length, seed, learningRate: config.learningRate };
  const model = ctx.modelFiles
    ? await loadUserModel(ctx.modelFiles, common)
    : createModel(config.model, { ...config.modelOptions, ...common } as Parameters<typeof createModel>[1]);
  if (ctx.weights) applyWeights(model, ctx.weights.values);
  return model;
}

/** An epoch's record from tfjs's logs, the validation counts and its timings (ms). */
function epochRecord(
  epoch: number,
  logs: tf.Logs | undefined,
  val: { loss: number; correct: number; images: number },
  epochStart: number,
  lastBatchEnd: number,
  trainCount: number,
): EpochRecord {
  const trainSeconds = (lastBatchEnd - epochStart) / 1000;
  return {
    epoch: epoch + 1,
    loss: metric(logs, 'loss'),
    accuracy: metric(logs, 'acc', 'accuracy'),
    valLoss: val.loss,
    valAccuracy: val.images === 0 ? Number.NaN : val.correct / val.images,
    seconds: (performance.now() - epochStart) / 1000,
    trainSeconds,
    imagesPerSecond: trainSeconds > 0 ? trainCount / trainSeconds : 0,
    valCorrect: val.correct,
    valImages: val.images,
  };
}

/** fitDataset over the epochs `log` has not finished: batch events, the recipe's hooks, a stop after the current batch. */
async function fitEpochs(
  model: tf.LayersModel,
  run: {
    ctx: TrainContext;
    pipeline: BuiltArm;
    seed: number;
    log: EpochLog;
    recipe: RecipeHooks;
    fineTune: ReturnType<typeof applyFineTune> | undefined;
  },
  options: TrainRunOptions,
  emit: (event: TrainEvent) => void,
): Promise<void> {
  const { ctx, pipeline, seed, log, recipe, fineTune } = run;
  const { config, data } = ctx;
  const batchesPerEpoch = Math.ceil(data.trainCount / config.batchSize);
  let epochStart = 0;
  let lastBatchEnd = 0;
  let batchInEpoch = 0;
  const train = toTfDataset(
    data.train(seed, { firstEpoch: log.epochs.length }).pipe(
      pipeline.operator,
      tap((b) => log.mixing.add(b)),
    ),
  );
  await model.fitDataset(train, {
    epochs: config.epochs,
    initialEpoch: log.epochs.length,
    verbose: 0,
    callbacks: {
      onEpochBegin: async (epoch) => {
        fineTune?.onEpochBegin(epoch);
        epochStart = performance.now();
        lastBatchEnd = epochStart;
        batchInEpoch = 0;
      },
      onBatchBegin: async () => recipe.onBatchBegin(),
      onBatchEnd: async () => {
        recipe.onBatchEnd();
        batchInEpoch++;
        lastBatchEnd = performance.now();
        const s = (lastBatchEnd - epochStart) / 1000;
        const images = Math.min(batchInEpoch * config.batchSize, data.trainCount);
        const imagesPerSecond = s > 0 ? images / s : 0;
        emit({
          type: 'batch',
          epoch: log.epochs.length + 1,
          batch: batchInEpoch,
          batches: batchesPerEpoch,
          imagesPerSecond,
          secondsIntoEpoch: s,
        });
        if (options.signal?.aborted) model.stopTraining = true;
      },
      onEpochEnd: async (epoch, logs) => {
        // A stop cuts the epoch short, and tfjs still ends it: not a finished epoch, so neither
        // recorded nor checkpointed. The last one's checkpoint stays, and a resume trains this
        // epoch whole, as an uninterrupted run does.
        if (options.signal?.aborted && batchInEpoch < batchesPerEpoch) return;
        const loss = metric(logs, 'loss');
        if (!Number.isFinite(loss)) {
          // Diverged: a result, recorded with its epoch; nothing after it is meaningful.
          log.diverged = { epoch: epoch + 1, loss: String(loss) };
          model.stopTraining = true;
          return;
        }
        // Validation from the predictions: an integer count of images right, not a float32 ratio.
        const val = await scoreSplit(model, toTfDataset(data.validation().pipe(ctx.validation.operator)));
        await log.finished(epochRecord(epoch, logs, val, epochStart, lastBatchEnd, data.trainCount), async (position) =>
          encodeCheckpoint(await takeCheckpoint(model, position)),
        );
        if (options.signal?.aborted) model.stopTraining = true;
      },
    },
  });
}

/**
 * Trains `arm` with `seed`; resolves to the finished run, or undefined when stopped by `signal`
 * before its last epoch (the last finished epoch's checkpoint stays for the next attempt).
 */
export async function trainRun(ctx: TrainContext, arm: Arm, seed: number, options: TrainRunOptions = {}): Promise<RunRecord | undefined> {
  const { config, data } = ctx;
  const emit = options.onEvent ?? ((): void => undefined);
  const pipeline = runPipeline(ctx, arm, seed);
  const key = runKey(arm.name, seed, ctx.configHash, pipeline);
  const log = new EpochLog(key, config.epochs, { ...defined({ file: options.checkpoint }), keep: options.keepCheckpoint ?? false }, emit);
  const model = await newModel(ctx, seed);
  const parameters = model.countParams();
  const batchesPerEpoch = Math.ceil(data.trainCount / config.batchSize);
  let test: RunRecord['test'];
  try {
    const expected = { key, epochs: config.epochs, optimizer: ctx.recipe.optimizer };
    const found = options.checkpoint === undefined ? {} : await readCheckpoint(options.checkpoint, expected, model);
    if (found.ignored !== undefined)
      emit({ type: 'checkpoint-ignored', reason: `${found.ignored}${await setAside(options.checkpoint!)}; starting afresh` });
    const checkpoint = found.checkpoint && found.checkpoint.epochs.length < config.epochs ? found.checkpoint : undefined;
    // The recipe first (SGD recompiles with its own optimizer), so the checkpoint restores into the optimizer that trains.
    const firstStep = (checkpoint?.epochs.length ?? 0) * batchesPerEpoch;
    const recipe = applyRecipe(model, ctx.recipe, config.learningRate, batchesPerEpoch, config.epochs, firstStep);
    // After the recipe (its SGD recompile), before the checkpoint (whose optimizer state is the two groups').
    const fineTune =
      config.fineTune === undefined
        ? undefined
        : applyFineTune(
            model,
            config.fineTune,
            config.learningRate,
            ctx.recipe.optimizer === 'sgd' ? (lr) => tf.train.momentum(lr, ctx.recipe.momentum) : undefined,
          );
    fineTune?.onEpochBegin(checkpoint?.epochs.length ?? 0);
    if (checkpoint) {
      await restoreCheckpoint(model, checkpoint);
      log.resume(checkpoint);
      emit({ type: 'resume', epoch: log.epochs.length });
    }
    if (log.epochs.length < config.epochs) await fitEpochs(model, { ctx, pipeline, seed, log, recipe, fineTune }, options, emit);
    // The test split: scored once, after the last epoch, never looked at before (see metrics.ts).
    if (data.test && log.epochs.length === config.epochs && !options.signal?.aborted) {
      const score = await scoreSplit(model, toTfDataset(data.test().pipe(ctx.validation.operator)), { bits: true });
      test = {
        loss: score.loss,
        accuracy: score.images === 0 ? Number.NaN : score.correct / score.images,
        images: score.images,
        correct: score.correct,
        ...(score.bits === undefined ? {} : { bits: encodeBits(score.bits) }),
      };
    }
  } finally {
    await log.settle();
    model.optimizer?.dispose();
    model.dispose();
  }
  log.throwIfFailed();
  if (log.epochs.length < config.epochs && log.diverged === undefined) return undefined;
  return {
    key,
    configHash: ctx.configHash,
    arm: arm.name,
    seed,
    backend: ctx.backend.name,
    pipeline: {
      train: pipeline.describe(),
      trainSteps: pipeline.steps,
      validation: ctx.validation.describe(),
      validationSteps: ctx.validation.steps,
    },
    model: ctx.modelFiles
      ? { name: `file:${path.basename(ctx.modelFiles.file)}`, options: { fingerprint: ctx.modelFiles.fingerprint }, parameters }
      : { name: config.model, options: config.modelOptions, parameters },
    epochs: log.epochs,
    mixing: log.mixing.stats(),
    ...defined({ test }),
    ...defined({ diverged: log.diverged }),
    seconds: log.seconds(),
    finishedAt: new Date().toISOString(),
  };
}

/** Sets a checkpoint that is not loaded aside (kept for a person to look at, never read again): the words that say so. */
async function setAside(file: string): Promise<string> {
  try {
    return `; set aside as ${path.basename(await moveAside(file, 'damaged'))}`;
  } catch {
    return ''; // no such file (a former-format one is named instead), or moved by another process
  }
}

/** What a recipe does around each batch: set the learning rate before, apply weight decay after. */
export interface RecipeHooks {
  readonly onBatchBegin: () => void;
  readonly onBatchEnd: () => void;
}

/** Recompiles `model` with the recipe's optimizer (the zoo compiles with Adam) and returns its callbacks. */
export function applyRecipe(
  model: tf.LayersModel,
  r: Recipe,
  base: number,
  stepsPerEpoch: number,
  epochs: number,
  /** The step training starts at: 0, or the steps of the epochs a resumed run has behind it. */
  firstStep = 0,
): RecipeHooks {
  checkRecipe(r);
  if (r.optimizer === 'sgd') {
    model.optimizer?.dispose();
    model.compile({ optimizer: tf.train.momentum(base, r.momentum), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  }
  let step = firstStep;
  let lr = base;
  // Read at each step: a frozen backbone (--freeze) is not trained, so not decayed, until it joins.
  const kernels = (): tf.LayerVariable[] => trainedWeights(model).filter((w) => /kernel/.test(w.name));
  return {
    onBatchBegin: () => {
      lr = learningRateAt(r, base, step, stepsPerEpoch, stepsPerEpoch * epochs);
      // SGD/momentum cache -lr in a scalar that only setLearningRate refreshes; Adam reads the field at every step.
      const opt = model.optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
      if (typeof opt.setLearningRate === 'function') opt.setLearningRate(lr);
      else opt.learningRate = lr;
    },
    onBatchEnd: () => {
      step++;
      if (r.weightDecay > 0) tf.tidy(() => kernels().forEach((w) => w.write(w.read().mul(1 - lr * r.weightDecay))));
    },
  };
}

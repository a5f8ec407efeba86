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
import { loadUserModel, type ModelFiles } from '../../models/userModel.js';
import { toTfDataset } from '../../sinks/toTfDataset.js';
import { prefetch } from '../../operators/prefetch.js';
import { buildArm, type Arm, type ArmOptions, type BuiltArm } from '../plan/arms.js';
import { encodeCheckpoint, readCheckpoint, restoreCheckpoint, takeCheckpoint } from './checkpoint.js';
import type { AblationConfig } from '../plan/config.js';
import { runKey } from '../plan/identity.js';
import type { AblationData } from '../data/data.js';
import { MixingObserver } from './mixstats.js';
import { checkRecipe, learningRateAt, type Recipe } from '../plan/recipe.js';
import { encodeBits, type EpochRecord, type RunRecord } from '../record.js';
import { scoreSplit } from './score.js';
import { writeFileAtomic } from '../store/atomic.js';

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
export function runPipeline(ctx: Pick<TrainContext, 'armOptions' | 'prefetch'>, arm: Arm, seed: number): BuiltArm {
  return buildArm(arm, seed, ctx.armOptions, prefetch(ctx.prefetch));
}

const metric = (logs: tf.Logs | undefined, ...names: string[]): number => {
  for (const n of names) {
    const v = logs?.[n];
    if (typeof v === 'number') return v;
  }
  return Number.NaN;
};

/**
 * Trains `arm` with `seed`; resolves to the finished run, or undefined when stopped by `signal`
 * before its last epoch (the last finished epoch's checkpoint stays for the next attempt).
 */
export async function trainRun(ctx: TrainContext, arm: Arm, seed: number, options: TrainRunOptions = {}): Promise<RunRecord | undefined> {
  const { config, data } = ctx;
  const emit = options.onEvent ?? ((): void => undefined);
  const pipeline = runPipeline(ctx, arm, seed);
  const key = runKey(arm.name, seed, ctx.configHash, pipeline);
  const runStart = performance.now();
  const numClasses = data.classes.length;
  const model = ctx.modelFiles
    ? await loadUserModel(ctx.modelFiles, { inputSize: config.size, numClasses, seed, learningRate: config.learningRate })
    : createModel(config.model, {
        ...config.modelOptions,
        inputSize: config.size,
        numClasses,
        seed,
        learningRate: config.learningRate,
      } as Parameters<typeof createModel>[1]);
  const parameters = model.countParams();
  const epochs: EpochRecord[] = [];
  let secondsBefore = 0;
  const batchesPerEpoch = Math.ceil(data.trainCount / config.batchSize);
  let mixing = new MixingObserver();
  let test: RunRecord['test'];
  let diverged: RunRecord['diverged'];
  // Epoch checkpoints are written one after the other, behind the training (see onEpochEnd).
  let checkpointWrites = Promise.resolve();
  let checkpointFailure: unknown;
  try {
    const found = options.checkpoint === undefined ? {} : await readCheckpoint(options.checkpoint, key, model);
    if (found.ignored !== undefined) emit({ type: 'checkpoint-ignored', reason: `${found.ignored}; starting afresh` });
    const checkpoint = found.checkpoint && found.checkpoint.epochs.length < config.epochs ? found.checkpoint : undefined;
    // The recipe first (SGD recompiles with its own optimizer), so the checkpoint restores into the optimizer that trains.
    const recipeHooks = applyRecipe(
      model,
      ctx.recipe,
      config.learningRate,
      batchesPerEpoch,
      config.epochs,
      (checkpoint?.epochs.length ?? 0) * batchesPerEpoch,
    );
    if (checkpoint) {
      await restoreCheckpoint(model, checkpoint);
      epochs.push(...checkpoint.epochs);
      secondsBefore = checkpoint.seconds;
      mixing = new MixingObserver(checkpoint.mixing);
      emit({ type: 'resume', epoch: epochs.length });
    }
    if (epochs.length < config.epochs) {
      let epochStart = 0;
      let lastBatchEnd = 0;
      let batchInEpoch = 0;
      const train = toTfDataset(
        data.train(seed, { firstEpoch: epochs.length }).pipe(
          pipeline.operator,
          tap((b) => mixing.add(b)),
        ),
      );
      await model.fitDataset(train, {
        epochs: config.epochs,
        initialEpoch: epochs.length,
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
              epoch: epochs.length + 1,
              batch: batchInEpoch,
              batches: batchesPerEpoch,
              imagesPerSecond: s > 0 ? images / s : 0,
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
              diverged = { epoch: epoch + 1, loss: String(loss) };
              model.stopTraining = true;
              return;
            }
            // Validation from the predictions: an integer count of images right, not a float32 ratio.
            const val = await scoreSplit(model, toTfDataset(data.validation().pipe(ctx.validation.operator)));
            const end = performance.now();
            const trainSeconds = (lastBatchEnd - epochStart) / 1000;
            const record: EpochRecord = {
              epoch: epoch + 1,
              loss,
              accuracy: metric(logs, 'acc', 'accuracy'),
              valLoss: val.loss,
              valAccuracy: val.images === 0 ? Number.NaN : val.correct / val.images,
              seconds: (end - epochStart) / 1000,
              trainSeconds,
              imagesPerSecond: trainSeconds > 0 ? data.trainCount / trainSeconds : 0,
              valCorrect: val.correct,
              valImages: val.images,
            };
            epochs.push(record);
            if (checkpointFailure !== undefined) throw checkpointFailure;
            // After the last epoch only when kept (the trained model, for the user): the run file is saved next.
            if (options.checkpoint !== undefined && (epochs.length < config.epochs || options.keepCheckpoint)) {
              // Taken now; written and synced while the next epoch trains. The epoch is reported once
              // its checkpoint is on disk, so a kill after the line resumes after that epoch.
              const seconds = secondsBefore + (performance.now() - runStart) / 1000;
              const bytes = encodeCheckpoint(await takeCheckpoint(model, { key, epochs, seconds, mixing: mixing.stats() }));
              const file = options.checkpoint;
              checkpointWrites = checkpointWrites
                .then(() => writeFileAtomic(file, bytes))
                .then(() => emit({ type: 'epoch', record }))
                .catch((error: unknown) => {
                  checkpointFailure ??= error;
                });
            } else {
              await checkpointWrites;
              if (checkpointFailure !== undefined) throw checkpointFailure;
              emit({ type: 'epoch', record });
            }
            if (options.signal?.aborted) model.stopTraining = true;
          },
        },
      });
    }
    // The test split: scored once, after the last epoch, never looked at before (see metrics.ts).
    if (data.test && epochs.length === config.epochs && !options.signal?.aborted) {
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
    // Stopped or failed too: the last finished epoch's checkpoint is on disk before we return.
    await checkpointWrites;
    model.optimizer?.dispose();
    model.dispose();
  }
  if (checkpointFailure !== undefined) throw checkpointFailure;
  if (epochs.length < config.epochs && diverged === undefined) return undefined;
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
    epochs,
    mixing: mixing.stats(),
    ...(test === undefined ? {} : { test }),
    ...(diverged === undefined ? {} : { diverged }),
    seconds: secondsBefore + (performance.now() - runStart) / 1000,
    finishedAt: new Date().toISOString(),
  };
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
): { onBatchBegin: () => void; onBatchEnd: () => void } {
  checkRecipe(r);
  if (r.optimizer === 'sgd') {
    model.optimizer?.dispose();
    model.compile({ optimizer: tf.train.momentum(base, r.momentum), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  }
  let step = firstStep;
  let lr = base;
  const kernels = model.trainableWeights.filter((w) => /kernel/.test(w.name));
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
      if (r.weightDecay > 0) tf.tidy(() => kernels.forEach((w) => w.write(w.read().mul(1 - lr * r.weightDecay))));
    },
  };
}

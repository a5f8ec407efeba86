/**
 * Trains ONE (arm, seed) run: a freshly seeded zoo model, fitDataset on the arm's pipeline,
 * validated on the shared split every epoch, with a checkpoint after every epoch so a killed run
 * resumes at its last finished epoch. Knows nothing of plans, claims, processes or views: the
 * scheduler (runner.ts) decides what to train where, the store (store.ts) keeps what is finished.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ResolvedBackend } from '../backend/index.js';
import { tap } from 'rxjs';
import { createModel } from '../models/index.js';
import { loadUserModel, type ModelFiles } from '../models/userModel.js';
import { toTfDataset } from '../sinks/toTfDataset.js';
import { prefetch } from '../operators/prefetch.js';
import { buildArm, type Arm, type ArmOptions, type BuiltArm } from './arms.js';
import type { AblationConfig } from './config.js';
import { shortHash } from './config.js';
import type { AblationData } from './data.js';
import { MixingObserver, type MixingStats } from './mixstats.js';
import { checkRecipe, learningRateAt, type Recipe } from './recipe.js';
import type { EpochRecord, RunRecord } from './results.js';
import { writeFileAtomic } from './store.js';

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

/** arm|seed|configHash|pipelineHash: what a finished run is matched on. */
export const runKey = (arm: string, seed: number, configHash: string, pipeline: BuiltArm): string =>
  `${arm}|${seed}|${configHash}|${shortHash(pipeline.steps)}`;

const metric = (logs: tf.Logs | undefined, ...names: string[]): number => {
  for (const n of names) {
    const v = logs?.[n];
    if (typeof v === 'number') return v;
  }
  return Number.NaN;
};

const CHECKPOINT_FORMAT = 'mixstream-checkpoint/1';

interface SavedTensor {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: string;
  readonly data: string;
}

interface Checkpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly key: string;
  readonly epochs: EpochRecord[];
  readonly seconds: number;
  readonly weights: SavedTensor[];
  readonly optimizer: SavedTensor[];
  /** Optimizer variables its getWeights leaves out (Adam's beta powers), see restoreExtras. */
  readonly extras: SavedTensor[];
  /** What the mixing operators did in the finished epochs. */
  readonly mixing?: MixingStats;
}

// Adam's setWeights recomputes beta1^t with pow(), while training multiplies step by step: the two
// differ in the last bits, and a resumed run would drift. So the running products are saved too.
const OPTIMIZER_EXTRAS = ['accBeta1', 'accBeta2'] as const;

const save = (name: string, t: tf.Tensor): SavedTensor => {
  const values = t.dataSync();
  return {
    name,
    shape: [...t.shape],
    dtype: t.dtype,
    data: Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64'),
  };
};

const load = (s: SavedTensor): tf.Tensor => {
  const bytes = Buffer.from(s.data, 'base64');
  const copy = new Uint8Array(bytes); // aligned, owned
  const values = s.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
  return tf.tensor(values, s.shape, s.dtype as tf.DataType);
};

async function readCheckpoint(file: string, key: string, model: tf.LayersModel): Promise<{ checkpoint?: Checkpoint; ignored?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const c = JSON.parse(text) as Checkpoint;
    if (c.format !== CHECKPOINT_FORMAT) return { ignored: `checkpoint ${file} is of another format` };
    if (c.key !== key) return { ignored: `checkpoint ${file} is of another config or pipeline (${c.key}), not ${key}` };
    const shapes = model.getWeights().map((w) => w.shape.join('x'));
    if (!Array.isArray(c.weights) || c.weights.length !== shapes.length || c.weights.some((w, i) => w.shape.join('x') !== shapes[i]))
      return { ignored: `checkpoint ${file} does not fit the model's weights` };
    if (!Array.isArray(c.epochs) || c.epochs.length === 0) return { ignored: `checkpoint ${file} holds no finished epoch` };
    return { checkpoint: c };
  } catch (error) {
    return { ignored: `checkpoint ${file} is unreadable (${(error as Error).message.split('\n')[0]})` };
  }
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
      const weights = checkpoint.weights.map(load);
      model.setWeights(weights);
      tf.dispose(weights);
      const optimizer = model.optimizer;
      const named = checkpoint.optimizer.map((s) => ({ name: s.name, tensor: load(s) }));
      // Not disposed: Adam's setWeights turns these very tensors into its variables.
      await optimizer.setWeights(named);
      for (const extra of checkpoint.extras) {
        const v = (optimizer as unknown as Record<string, unknown>)[extra.name];
        if (v instanceof tf.Variable) {
          const t = load(extra);
          v.assign(t);
          t.dispose();
        }
      }
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
      const val = toTfDataset(data.validation().pipe(ctx.validation.operator));
      await model.fitDataset(train, {
        epochs: config.epochs,
        initialEpoch: epochs.length,
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
              epoch: epochs.length + 1,
              batch: batchInEpoch,
              batches: batchesPerEpoch,
              imagesPerSecond: s > 0 ? images / s : 0,
              secondsIntoEpoch: s,
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
            if (checkpointFailure !== undefined) throw checkpointFailure;
            // After the last epoch only when kept (the trained model, for the user): the run file is saved next.
            if (options.checkpoint !== undefined && (epochs.length < config.epochs || options.keepCheckpoint)) {
              // Taken now; written and synced while the next epoch trains. The epoch is reported once
              // its checkpoint is on disk, so a kill after the line resumes after that epoch.
              const seconds = secondsBefore + (performance.now() - runStart) / 1000;
              const bytes = await checkpointBytes(key, model, epochs, seconds, mixing.stats());
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
    if (data.test && epochs.length === config.epochs && !options.signal?.aborted)
      test = await scoreTest(model, toTfDataset(data.test().pipe(ctx.validation.operator)), data.testCount ?? 0);
  } finally {
    // Stopped or failed too: the last finished epoch's checkpoint is on disk before we return.
    await checkpointWrites;
    model.optimizer?.dispose();
    model.dispose();
  }
  if (checkpointFailure !== undefined) throw checkpointFailure;
  if (epochs.length < config.epochs) return undefined;
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
    seconds: secondsBefore + (performance.now() - runStart) / 1000,
    finishedAt: new Date().toISOString(),
  };
}

/** The checkpoint of the model and optimizer as they are now. */
async function checkpointBytes(
  key: string,
  model: tf.LayersModel,
  epochs: readonly EpochRecord[],
  seconds: number,
  mixing: MixingStats,
): Promise<Buffer> {
  const weights = model.getWeights().map((w, i) => save(String(i), w));
  const optimizer = model.optimizer;
  const named = await optimizer.getWeights();
  const extras: SavedTensor[] = [];
  for (const name of OPTIMIZER_EXTRAS) {
    const v = (optimizer as unknown as Record<string, unknown>)[name];
    if (v instanceof tf.Variable) extras.push(save(name, v));
  }
  const checkpoint: Checkpoint = {
    format: CHECKPOINT_FORMAT,
    key,
    epochs: [...epochs],
    seconds,
    weights,
    optimizer: named.map((n) => save(n.name, n.tensor)),
    extras,
    mixing,
  };
  // getWeights makes a fresh scalar for the iteration count; the rest are the optimizer's own variables.
  for (const n of named) if (!(n.tensor instanceof tf.Variable)) n.tensor.dispose();
  return Buffer.from(JSON.stringify(checkpoint));
}

/** Loss and accuracy of `model` on a dataset, in one pass. */
async function scoreTest(
  model: tf.LayersModel,
  dataset: tf.data.Dataset<tf.TensorContainer>,
  images: number,
): Promise<{ loss: number; accuracy: number; images: number }> {
  const out = await model.evaluateDataset(dataset as tf.data.Dataset<{ xs: tf.Tensor; ys: tf.Tensor }>, {});
  const scalars = Array.isArray(out) ? out : [out];
  const values = await Promise.all(scalars.map(async (s) => (await s.data())[0] ?? Number.NaN));
  for (const s of scalars) s.dispose();
  return { loss: values[0] ?? Number.NaN, accuracy: values[1] ?? Number.NaN, images };
}

/** Removes a finished run's checkpoint. */
export async function removeCheckpoint(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** The checkpoint file of a run in its config's folder. */
export const checkpointFile = (dir: string, arm: string, seed: number): string => path.join(dir, `${arm}-s${seed}.checkpoint.json`);

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

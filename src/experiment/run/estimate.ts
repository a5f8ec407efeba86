/**
 * The plan's time before it starts, from a short warm-up measured on this machine: the first
 * batches of the real data through the validation pipeline (decoded cold, as epoch 1 is), and a few
 * training steps and one validation step of the real model at the real size. Lines for the plan:
 * per run and in total, and what --jobs, --shard and the deploy/ files (Slurm array, Kubernetes
 * Indexed Job) cut it to. Estimates, not promises: the warm-up runs while --jobs workers start.
 */
import { availableParallelism } from 'node:os';
import tf from '#tfjs';
import { firstValueFrom, take, toArray } from 'rxjs';
import type { Batch } from '../../core/types.js';
import { createModel } from '../../models/index.js';
import { loadUserModel } from '../../models/userModel.js';
import type { Shard } from '../plan/planRuns.js';
import type { TrainContext } from '../train/train.js';

/** Seconds measured in the warm-up. */
export interface Warmup {
  /** Timed training steps (after one untimed: tfjs builds its kernels on the first). */
  readonly steps: number;
  readonly stepSeconds: number;
  /** One validation (inference) step. */
  readonly predictSeconds: number;
  /** Decoding and batching a batch cold (the first epoch's pace when it is slower than training). */
  readonly decodeSeconds: number;
}

/** What the plan is: its runs, and the process layout it runs on. */
export interface PlanShape {
  /** Runs this command will train. */
  readonly runs: number;
  /** --jobs as given (runs at once on this machine). */
  readonly jobs: number;
  /** Kernel threads a run. */
  readonly threads: number;
  readonly shard?: Shard;
  /** Cores here; default os.availableParallelism(). */
  readonly cores?: number;
}

/** The Slurm array and Kubernetes Job in deploy/ as shipped: 4 tasks (completions), 2 CPUs and --jobs 2 each. */
export const DEPLOY_SHAPE = { tasks: 4, jobsEach: 2 } as const;

/** Measures the warm-up (see Warmup): `steps` timed training steps, default 2. */
export async function measureWarmup(ctx: TrainContext, steps = 2): Promise<Warmup> {
  const { config, data } = ctx;
  const numClasses = data.classes.length;
  const t0 = performance.now();
  const batches: Batch[] = await firstValueFrom(data.train(0).pipe(ctx.validation.operator, take(steps + 1), toArray()));
  const decodeSeconds = (performance.now() - t0) / 1000 / Math.max(1, batches.length);
  const model = ctx.modelFiles
    ? await loadUserModel(ctx.modelFiles, { inputSize: config.size, numClasses, seed: 0, learningRate: config.learningRate })
    : createModel(config.model, {
        ...config.modelOptions,
        inputSize: config.size,
        numClasses,
        seed: 0,
        learningRate: config.learningRate,
      } as Parameters<typeof createModel>[1]);
  const tensors = batches.map((b) => ({
    xs: tf.tensor4d(b.images, [...b.shape]),
    ys: tf.tensor2d(b.targets ?? new Float32Array(b.shape[0] * numClasses), [b.shape[0], numClasses]),
  }));
  try {
    const at = (i: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } => tensors[i % tensors.length]!;
    await model.trainOnBatch(at(0).xs, at(0).ys);
    const t1 = performance.now();
    for (let i = 1; i <= steps; i++) await model.trainOnBatch(at(i).xs, at(i).ys);
    const stepSeconds = (performance.now() - t1) / 1000 / steps;
    const t2 = performance.now();
    const out = model.predictOnBatch(at(0).xs) as tf.Tensor;
    await out.data();
    const predictSeconds = (performance.now() - t2) / 1000;
    out.dispose();
    return { steps, stepSeconds, predictSeconds, decodeSeconds };
  } finally {
    model.dispose();
    tf.dispose(tensors.flatMap((t) => [t.xs, t.ys]));
  }
}

/** Seconds of one run from the warm-up: the first epoch at the slower of decoding and training, later ones from the memo or disk cache. */
export function runSeconds(
  w: Warmup,
  o: { epochs: number; trainCount: number; validationCount: number; testCount?: number; batchSize: number },
): number {
  const batches = Math.ceil(o.trainCount / o.batchSize);
  const evalBatches = Math.ceil(o.validationCount / o.batchSize);
  const testBatches = Math.ceil((o.testCount ?? 0) / o.batchSize);
  const first = batches * Math.max(w.stepSeconds, w.decodeSeconds);
  return first + (o.epochs - 1) * batches * w.stepSeconds + (o.epochs * evalBatches + testBatches) * w.predictSeconds;
}

/**
 * Wall time of `runs` runs of `perRun` seconds on `slots` processes of `threads` threads on
 * `cores` cores: ceil(runs / slots) rounds, each slower by the cores' oversubscription.
 */
export function wallSeconds(perRun: number, runs: number, slots: number, threads: number, cores: number): number {
  const at = Math.max(1, Math.min(slots, runs));
  return Math.ceil(runs / at) * perRun * Math.max(1, (at * threads) / cores);
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${(s / 86_400).toFixed(1)} days`;
}

/** The plan's estimate lines (see the module's doc). */
export function estimateLines(ctx: TrainContext, w: Warmup, plan: PlanShape): string[] {
  const { config, data } = ctx;
  const cores = plan.cores ?? availableParallelism();
  const perRun = runSeconds(w, {
    epochs: config.epochs,
    trainCount: data.trainCount,
    validationCount: data.validationCount,
    ...(data.testCount === undefined ? {} : { testCount: data.testCount }),
    batchSize: config.batchSize,
  });
  const one = wallSeconds(perRun, plan.runs, 1, plan.threads, cores);
  const now = wallSeconds(perRun, plan.runs, plan.jobs, plan.threads, cores);
  const fit = Math.max(1, Math.floor(cores / plan.threads));
  const model = ctx.modelFiles ? 'the --model file' : config.model;
  const lines = [
    `estimate: ${plan.runs} run${plan.runs === 1 ? '' : 's'} x ${duration(perRun)} a run = ${duration(one)} on one process, ${duration(now)} with --jobs ${plan.jobs} ` +
      `(measured here: ${w.steps} training steps of ${model} at ${config.size} px, batch ${config.batchSize}, ${w.stepSeconds.toFixed(2)} s a step; ` +
      `validation ${w.predictSeconds.toFixed(2)} s a batch; decoding ${w.decodeSeconds.toFixed(2)} s a batch cold; ${plan.threads} thread${plan.threads === 1 ? '' : 's'} a run, ${cores} cores)`,
  ];
  const cuts = [`--jobs ${fit} (one run a core here): ${duration(wallSeconds(perRun, plan.runs, fit, plan.threads, cores))}`];
  const { tasks, jobsEach } = DEPLOY_SHAPE;
  const shardRuns = (n: number): number => Math.ceil(plan.runs / n);
  cuts.push(
    `--shard i/${tasks} on ${tasks} machines like this one (deploy/slurm/submit.sh ${tasks}, or deploy/k8s/ablate-job.yaml's ${tasks} completions), --jobs ${jobsEach} each: ` +
      `${duration(wallSeconds(perRun, shardRuns(tasks), jobsEach, plan.threads, jobsEach * plan.threads))}`,
  );
  const perMachine = Math.max(1, Math.ceil(plan.runs / fit));
  if (perMachine > 1)
    cuts.push(`--shard i/${perMachine} with --jobs ${fit}: one round, ${duration(wallSeconds(perRun, fit, fit, plan.threads, cores))}`);
  lines.push(`estimate: ${plan.shard ? `(this is shard ${plan.shard.index}/${plan.shard.count}) ` : ''}${cuts.join('; ')}`);
  return lines;
}

/** Measures the warm-up and returns the plan's estimate lines; a warm-up that fails gives one line saying why (training then says more). */
export async function planEstimate(ctx: TrainContext, plan: PlanShape, steps = 2): Promise<string[]> {
  try {
    return estimateLines(ctx, await measureWarmup(ctx, steps), plan);
  } catch (error) {
    return [`estimate: none, the warm-up failed: ${error instanceof Error ? error.message : String(error)}`];
  }
}

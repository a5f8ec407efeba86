/**
 * The Scheduler of one prepared config (runAblation.ts makes it): plans the (arm, seed) runs, keeps
 * the share of a shard, claims each run in the store before training it, trains on `jobs`
 * processes (this one, and jobs - 1 forked workers: see pool.ts and worker.ts), and rebuilds the
 * views (results.json, results.csv) after each finished run. Training one run is train/; keeping
 * runs is store/; the plan is plan/.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedBackend } from '../../backend/index.js';
import type { AblationData } from '../data/data.js';
import { InputError } from '../errors.js';
import type { Arm, ArmOptions, ArmRegistry } from '../plan/arms.js';
import type { AblationConfig } from '../plan/config.js';
import { runFileName, runKey } from '../plan/identity.js';
import { planRuns, shardShare, type PlannedRun, type Shard } from '../plan/planRuns.js';
import { lastEpoch, type RunRecord } from '../record.js';
import { cleanStaleTemps } from '../store/atomic.js';
import { claimRun } from '../store/locks.js';
import { checkOutFolder } from '../store/outFolder.js';
import type { ResultsFile } from '../store/results.js';
import { moveAside, readRunFile, tidyStore } from '../store/runFiles.js';
import { migrateResultsFile, writeConfigHeader, writeViews, type ConfigHeader, type Views } from '../store/views.js';
import { trainAndSave, type PrepareOptions, type Prepared } from '../train/prepare.js';
import { runPipeline, type TrainEvent } from '../train/train.js';
import { planEstimate } from './estimate.js';
import { Eta, type ProgressEvent } from './events.js';
import { WorkerPool } from './pool.js';

export interface RunAblationOptions extends Omit<PrepareOptions, 'onProgress'> {
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Abort to stop after the current batch: runs in progress keep their last epoch's checkpoint. */
  readonly signal?: AbortSignal;
  /**
   * Runs trained at once, each in its own process (1: in this process). Default 1. With jobs > 1,
   * user arms come as `armsModule`, which every worker imports; a `registry` or `data` object
   * trains in this process only (jobs 1).
   */
  readonly jobs?: number;
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

type Planned = PlannedRun<Arm>;

/** One command's runs of one prepared config: what is done, what to train, on which slots, and the views. */
export class Scheduler {
  private readonly config: AblationConfig;
  private readonly emit: (event: ProgressEvent) => void;
  private readonly out: string;
  private readonly done = new Map<string, RunRecord>();
  private todo: Planned[] = [];
  private eta: Eta | undefined;
  private trained = 0;
  private views: Views | undefined;
  private viewHeader: ConfigHeader | undefined;
  private keys = new Set<string>();
  private viewWrite = Promise.resolve();
  private viewFailure: unknown;
  private failure: unknown;
  /** Runs whose wait on another claim was said already (said once per run). */
  private readonly waitSaid = new Set<string>();

  constructor(
    private readonly prepared: Prepared,
    private readonly options: RunAblationOptions,
    private readonly pool: WorkerPool | undefined,
  ) {
    this.config = prepared.ctx.config;
    this.emit = options.onProgress ?? ((): void => undefined);
    this.out = path.resolve(this.config.out);
  }

  private get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** Prepares the store, plans, trains what is not done, and rebuilds the views. */
  async run(started: number): Promise<AblationRun> {
    const { ctx } = this.prepared;
    await this.prepareStore();
    const plan = planRuns(this.prepared.arms, this.config.seeds, (arm, seed) =>
      runKey(arm.name, seed, ctx.configHash, runPipeline(ctx, arm, seed)),
    );
    this.keys = new Set(plan.map((p) => p.key));
    const mine = this.options.shard ? shardShare(plan, this.options.shard) : plan;
    for (const p of mine) {
      const r = await this.finished(p);
      if (r) this.done.set(p.key, r);
    }
    this.todo = mine.filter((p) => !this.done.has(p.key));
    const workers = Math.min(this.pool ? this.pool.size + 1 : 1, Math.max(1, this.todo.length));
    this.announce(mine, workers);
    // With a data set of the user's: the plan's time from a short warm-up here (estimate.ts).
    if (this.config.data !== undefined && this.todo.length > 0)
      for (const line of await planEstimate(ctx, {
        runs: this.todo.length,
        jobs: workers,
        threads: this.options.threads ?? 1,
        ...(this.options.shard ? { shard: this.options.shard } : {}),
      }))
        this.info(line);
    await this.trainAll(workers);
    const missing = mine.filter((p) => !this.done.has(p.key)).map((p) => ({ arm: p.arm.name, seed: p.seed }));
    const views = this.views!;
    return {
      config: this.config,
      results: views.results,
      data: ctx.data,
      registry: this.prepared.registry,
      armOptions: ctx.armOptions,
      backend: ctx.backend,
      resultsPath: views.resultsPath,
      csvPath: views.csvPath,
      trained: this.trained,
      skipped: mine.length - this.todo.length,
      missing,
      interrupted: (this.signal?.aborted ?? false) && missing.length > 0,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** Before any training: a run must never train only to find nowhere to go. */
  private async prepareStore(): Promise<void> {
    const { ctx, dir } = this.prepared;
    // The built-in data's cache folder too: an output folder in it would be listed as a class.
    const outProblem = await checkOutFolder(this.out, ctx.data.location);
    if (outProblem !== undefined) throw new InputError(outProblem);
    for (const note of await migrateResultsFile(this.out)) this.info(note);
    await mkdir(dir, { recursive: true });
    for (const name of await cleanStaleTemps(dir)) this.info(`removed a stale temp file ${name}`);
    for (const name of await cleanStaleTemps(this.out)) this.info(`removed a stale temp file ${name}`);
    const header = await writeConfigHeader(this.out, this.prepared.header);
    // The views of this command are about its own arms and seeds (another command may add others to the header).
    this.viewHeader = { ...header, config: this.prepared.header.config, arms: this.prepared.header.arms, seeds: this.config.seeds };
  }

  private info(message: string): void {
    this.emit({ type: 'info', message });
  }

  /**
   * The run's record when it is finished already: a valid run file with the planned key. A damaged
   * one, or one of an older pipeline of the same arm, is set aside (kept, named) and trained again.
   */
  private async finished(p: Planned): Promise<RunRecord | undefined> {
    const file = path.join(this.prepared.dir, runFileName(p.arm.name, p.seed));
    const expected = { arm: p.arm.name, seed: p.seed, configHash: this.prepared.ctx.configHash, epochs: this.config.epochs };
    const r = await readRunFile(file, expected);
    if (r.kind === 'damaged') {
      const to = await moveAside(file).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // another process set it aside
        throw error;
      });
      if (to !== undefined) this.info(`moved damaged run file ${file} aside to ${path.basename(to)}: ${r.reason}; training it again`);
    }
    if (r.kind !== 'ok') return undefined;
    if (r.record.key !== p.key) {
      const to = await moveAside(file, 'superseded');
      this.info(`run file ${file} is of another pipeline (${r.record.key}); kept as ${path.basename(to)}, training it again`);
      return undefined;
    }
    return r.record;
  }

  /** The plan line, and a skip line per run found finished. */
  private announce(mine: readonly Planned[], workers: number): void {
    const { ctx } = this.prepared;
    const batchesPerEpoch = Math.ceil(ctx.data.trainCount / this.config.batchSize);
    this.eta = new Eta(this.todo.length * this.config.epochs, batchesPerEpoch, workers);
    const shard = this.options.shard;
    this.emit({
      type: 'plan',
      total: mine.length,
      skipped: mine.length - this.todo.length,
      epochs: this.config.epochs,
      batchesPerEpoch,
      trainCount: ctx.data.trainCount,
      validationCount: ctx.data.validationCount,
      ...(ctx.data.testSource === undefined ? {} : { testSource: ctx.data.testSource }),
      backend: ctx.backend,
      jobs: workers,
      ...(shard ? { shard } : {}),
    });
    for (const p of mine) {
      const r = this.done.get(p.key);
      if (r) this.skipped(p, r);
    }
  }

  private skipped(p: Planned, r: RunRecord): void {
    this.emit({ type: 'skip', arm: p.arm.name, seed: p.seed, valAccuracy: lastEpoch(r)?.valAccuracy ?? Number.NaN });
  }

  /** Every read of the store is one explicit tidy-up too (stale temps, damaged files set aside), said at once. */
  private async rebuild(): Promise<Views> {
    const v = await writeViews(this.out, this.viewHeader!, this.keys);
    for (const note of await tidyStore(this.out, v.damaged)) this.info(note);
    return v;
  }

  /**
   * Rebuilt after each run, one rebuild at a time, while the next run trains (a slot does not wait
   * for it); a failure is kept and thrown at the end, the runs themselves being saved already.
   */
  private refreshViews(): Promise<void> {
    return (this.viewWrite = this.viewWrite
      .then(async () => {
        this.views = await this.rebuild();
      })
      .catch((error: unknown) => {
        this.viewFailure ??= error;
      }));
  }

  /** Trains the runs to do on `workers` slots, then rebuilds the views a last time. */
  private async trainAll(workers: number): Promise<void> {
    const stopPool = (): void => this.pool?.stop();
    this.signal?.addEventListener('abort', stopPool);
    this.views = await this.rebuild();
    // Each slot takes the next unclaimed run; runs held by another live process are retried once
    // the queue is empty (they finish there, or their claim goes stale and is taken over here).
    const queue = [...this.todo];
    const waiting: Planned[] = [];
    const slotLoop = async (slot: number): Promise<void> => {
      while (!this.signal?.aborted && this.failure === undefined) {
        const p = queue.shift() ?? waiting.shift();
        if (!p) return;
        if (this.done.has(p.key)) continue;
        if ((await this.attempt(p, slot)) === 'busy') {
          waiting.push(p);
          if (queue.length === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    };
    try {
      await Promise.all(
        Array.from({ length: workers }, (_, slot) =>
          slotLoop(slot).catch((error: unknown) => {
            this.failure ??= error;
            this.pool?.stop();
          }),
        ),
      );
    } finally {
      this.signal?.removeEventListener('abort', stopPool);
      await this.pool?.close();
    }
    if (this.failure !== undefined) throw this.failure;
    await this.refreshViews();
    if (this.viewFailure !== undefined) throw this.viewFailure;
    // A finished command is a look at the config (store/looks.ts): recorded with the seeds it compared.
    // Only a complete one: a shard's partial seeds are not what anyone compared.
    if (!this.signal?.aborted && this.views?.missing.length === 0)
      this.views = await writeViews(this.out, this.viewHeader!, this.keys, 'ablate');
  }

  /** Claims and trains one run; 'busy' when a live process holds it. */
  private async attempt(p: Planned, slot: number): Promise<'done' | 'busy' | 'stopped'> {
    const name = `${p.arm.name} seed ${p.seed}`;
    const claim = await claimRun(this.prepared.dir, p.arm.name, p.seed, {
      onSteal: (why) => this.info(`${name}: took over an abandoned claim (${why})`),
      onLost: () => this.info(`${name}: our claim was taken over by another process (its lock is left to it)`),
      onBusy: (what) => {
        if (this.waitSaid.has(p.key)) return;
        this.waitSaid.add(p.key);
        this.info(`${name}: waiting: ${what}`);
      },
    });
    if (!claim) return 'busy';
    try {
      // Finished by another process between our look and our claim.
      const already = await this.finished(p);
      if (already) {
        this.done.set(p.key, already);
        this.skipped(p, already);
        return 'done';
      }
      if (this.signal?.aborted) return 'stopped';
      return await this.train(p, slot);
    } finally {
      await claim.release();
    }
  }

  /** Trains one claimed run on `slot` (0: this process; i > 0: worker i - 1) and records it. */
  private async train(p: Planned, slot: number): Promise<'done' | 'stopped'> {
    const epochs = this.config.epochs;
    // Numbered by place in the plan, not by start order, so the numbers read the same whatever the jobs.
    const run = this.todo.indexOf(p) + 1;
    const pipeline = runPipeline(this.prepared.ctx, p.arm, p.seed).describe();
    this.emit({ type: 'run-start', arm: p.arm.name, seed: p.seed, run, runs: this.todo.length, pipeline });
    // Epoch events come once the epoch's checkpoint is on disk.
    let checkpointed = 0;
    const report = this.reporter(p, run);
    const onEvent = (e: TrainEvent): void => {
      if (e.type === 'epoch') checkpointed = e.record.epoch;
      else if (e.type === 'resume') checkpointed = e.epoch;
      report(e);
    };
    const outcome =
      this.pool && slot > 0
        ? await this.pool.run(slot - 1, p.arm.name, p.seed, onEvent)
        : await trainAndSave(this.prepared, p.arm, p.seed, {
            keepCheckpoint: this.options.keepCheckpoints ?? false,
            ...(this.signal ? { signal: this.signal } : {}),
            onEvent,
          });
    if (outcome.kind === 'stopped') {
      this.emit({ type: 'run-stopped', arm: p.arm.name, seed: p.seed, checkpointed, epochs });
      return 'stopped';
    }
    this.done.set(p.key, outcome.record);
    this.trained++;
    void this.refreshViews();
    this.emit({ type: 'run-end', arm: p.arm.name, seed: p.seed, record: outcome.record });
    return 'done';
  }

  /** A run's training events as progress events, with arm, seed, place and ETA. */
  private reporter(p: Planned, run: number): (e: TrainEvent) => void {
    const base = { arm: p.arm.name, seed: p.seed };
    const epochs = this.config.epochs;
    const runs = this.todo.length;
    const eta = this.eta!;
    return (e) => {
      switch (e.type) {
        case 'resume':
          this.emit({ type: 'resume', ...base, epoch: e.epoch, epochs });
          eta.resumed(e.epoch);
          break;
        case 'checkpoint-ignored':
          this.info(`${p.arm.name} seed ${p.seed}: ${e.reason}`);
          break;
        case 'batch':
          this.emit({
            type: 'batch',
            ...base,
            run,
            runs,
            epoch: e.epoch,
            epochs,
            batch: e.batch,
            batches: e.batches,
            imagesPerSecond: e.imagesPerSecond,
            etaSeconds: eta.seconds(e.batch, e.secondsIntoEpoch),
          });
          break;
        case 'epoch':
          eta.epoch(e.record.seconds);
          this.emit({ type: 'epoch', ...base, run, runs, epochs, record: e.record, etaSeconds: eta.seconds(0, 0) });
          break;
      }
    };
  }
}

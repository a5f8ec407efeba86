/**
 * What the scheduler tells a progress display (cli/progress.ts renders it), and its estimate of
 * the time left.
 */
import type { ResolvedBackend } from '../../backend/index.js';
import type { Shard } from '../plan/planRuns.js';
import type { EpochRecord, RunRecord } from '../record.js';

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

/**
 * Time left: seconds per epoch so far (whole epochs), else per batch, times the epochs left, over
 * the jobs.
 */
export class Eta {
  private readonly epochSeconds: number[] = [];
  private epochsDone = 0;

  constructor(
    private readonly totalEpochs: number,
    private readonly batchesPerEpoch: number,
    private readonly jobs: number,
  ) {}

  /** `epochs` finished before this command (a resumed run's). */
  resumed(epochs: number): void {
    this.epochsDone += epochs;
  }

  /** An epoch finished now, in `seconds`. */
  epoch(seconds: number): void {
    this.epochsDone++;
    this.epochSeconds.push(seconds);
  }

  /** Seconds left, from `batchesIntoEpoch` batches and `secondsIntoEpoch` seconds into the current epoch; undefined: too early to say. */
  seconds(batchesIntoEpoch: number, secondsIntoEpoch: number): number | undefined {
    const perEpoch =
      this.epochSeconds.length > 0
        ? this.epochSeconds.reduce((a, b) => a + b, 0) / this.epochSeconds.length
        : batchesIntoEpoch >= 2
          ? (secondsIntoEpoch / batchesIntoEpoch) * this.batchesPerEpoch * 1.15
          : undefined;
    if (perEpoch === undefined) return undefined;
    return Math.max(0, ((this.totalEpochs - this.epochsDone) * perEpoch) / this.jobs - secondsIntoEpoch);
  }
}

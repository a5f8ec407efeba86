/**
 * The results file's shape (results.json: every arm, seed and epoch, with what produced it), its
 * per-arm summary and results.csv. results.json is a view rebuilt from the run store, OUT/runs
 * (views.ts; a run's own record: ../record.ts); runs are keyed by arm, seed and a hash of
 * everything else that affects the numbers (plan/identity.ts).
 */
import { readContained } from '../../sources/files.js';
import type { BackendKernelsInfo, GpuAdapterSummary } from '../../backend/index.js';
import type { DataError } from '../../core/types.js';
import type { ComparisonSet } from '../stats/compare.js';
import type { HeadlineSet } from '../stats/headline.js';
import type { AblationWarning } from '../stats/warnings.js';
import type { Regime } from '../stats/regime.js';
import { meanStd, type MeanStd } from '../stats/meanSd.js';
import { lastEpoch, type EpochRecord, type RunRecord } from '../record.js';

export type { EpochRecord, RunRecord } from '../record.js';

export const RESULTS_FORMAT = 'mixstream-ablation/1';

/** Per-arm aggregates over seeds, for the current config. */
export interface ArmSummary {
  readonly arm: string;
  readonly summary: string;
  readonly seeds: readonly number[];
  readonly finalValAccuracy: MeanStd;
  readonly finalValLoss: MeanStd;
  readonly finalAccuracy: MeanStd;
  readonly finalLoss: MeanStd;
  /** Test accuracy (the headline metric) over the seeds with a test score; absent without a test split. */
  readonly testAccuracy?: MeanStd;
  /** Runs whose loss became NaN/inf (counted, not summarised: their seeds are out of the means above). */
  readonly diverged?: ReadonlyArray<{ readonly seed: number; readonly epoch: number }>;
  readonly perEpoch: ReadonlyArray<{
    readonly epoch: number;
    readonly valAccuracy: MeanStd;
    readonly valLoss: MeanStd;
    readonly accuracy: MeanStd;
    readonly loss: MeanStd;
  }>;
}

/** The whole file. */
export interface ResultsFile {
  readonly format: typeof RESULTS_FORMAT;
  readonly updatedAt: string;
  /** True once every planned run of the current config is in. */
  readonly complete: boolean;
  /** The planned runs not in the store yet (other shards still running, or interrupted); absent when complete. */
  readonly missing?: ReadonlyArray<{ readonly arm: string; readonly seed: number }>;
  readonly configHash: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly data: {
    readonly kind: string;
    readonly location: string;
    readonly classes: readonly string[];
    readonly trainCount: number;
    readonly validationCount: number;
    /** Images of the test split (0: none). */
    readonly testCount?: number;
    /** Where the test split comes from, in words (data.ts AblationData.testSource); absent: none, or an older file. */
    readonly testSource?: string;
    readonly fingerprint: string;
  };
  readonly backend: {
    readonly name: string;
    readonly tfBackend: string;
    readonly reason: string;
    readonly skipped: ReadonlyArray<{ readonly name: string; readonly why: string }>;
    /** On webgpu: the adapter (vendor, architecture, device, description, fallback). */
    readonly adapter?: GpuAdapterSummary;
    /** Which code ran the heavy kernels (native addon, XNNPACK, ...) and on how many threads; absent in older files. */
    readonly kernels?: BackendKernelsInfo;
  };
  /** `parent`: the arm it differs from by one change (plan/arms.ts), absent in older files. */
  readonly arms: ReadonlyArray<{ readonly name: string; readonly summary: string; readonly pipeline: string; readonly parent?: string }>;
  /** Every run kept, those of earlier configs too (their configHash differs); summaries use the current one only. */
  readonly runs: readonly RunRecord[];
  readonly summary: readonly ArmSummary[];
  /** Files left out, each once: when listing the data, and under --on-error skip when decoding. */
  readonly skipped?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
  /** Paired comparisons against the reference arm (compare.ts), from the current config's runs. */
  readonly comparisons?: ComparisonSet;
  /** The verdicts: the headline metric over the declared contrasts, from counts (stats/headline.ts); absent in older files. */
  readonly headline?: HeadlineSet;
  /** Too few seeds, too few validation images, curves still rising, an arm that barely acted. */
  readonly warnings?: readonly AblationWarning[];
  /** The reference arm's train/validation gap: whether a regulariser has anything to close; absent in older files. */
  readonly regime?: Regime;
  /** How the arms are paired (the same for every arm of one seed). */
  readonly design?: Readonly<Record<string, string>>;
}

/** Each skipped file once (every epoch meets it again), as results.json lists them. */
export function skippedFiles(errors: readonly DataError[]): Array<{ path: string; reason: string }> {
  const seen = new Map<string, { path: string; reason: string }>();
  for (const e of errors) if (!seen.has(e.origin)) seen.set(e.origin, { path: e.origin, reason: e.reason });
  return [...seen.values()];
}

/** Reads earlier runs from `file`; none when it is missing, unreadable or of another format. */
export async function readRuns(file: string): Promise<RunRecord[]> {
  let text: string;
  try {
    text = (await readContained('results', file, 256 << 20)).toString('utf8'); // no FIFO, device or outside link
  } catch {
    return [];
  }
  try {
    const parsed = JSON.parse(text) as Partial<ResultsFile>;
    if (parsed.format !== RESULTS_FORMAT || !Array.isArray(parsed.runs)) return [];
    return parsed.runs.filter((r): r is RunRecord => typeof r?.key === 'string' && Array.isArray(r.epochs));
  } catch {
    return [];
  }
}

/** Aggregates the runs of each arm (in `arms` order) across seeds. */
export function summarize(
  runs: readonly RunRecord[],
  arms: ReadonlyArray<{ readonly name: string; readonly summary: string }>,
): ArmSummary[] {
  const out: ArmSummary[] = [];
  for (const arm of arms) {
    const all = runs.filter((r) => r.arm === arm.name).sort((a, b) => a.seed - b.seed);
    const mine = all.filter((r) => r.diverged === undefined);
    const diverged = all.flatMap((r) => (r.diverged === undefined ? [] : [{ seed: r.seed, epoch: r.diverged.epoch }]));
    if (all.length === 0) continue;
    const tests = mine.flatMap((r) =>
      r.test === undefined ? [] : [r.test.correct === undefined ? r.test.accuracy : r.test.correct / r.test.images],
    );
    const last = mine.map(lastEpoch).filter((e): e is EpochRecord => e !== undefined);
    const epochs = Math.max(...mine.map((r) => r.epochs.length));
    const perEpoch = Array.from({ length: epochs }, (_, i) => {
      const at = mine.map((r) => r.epochs[i]).filter((e): e is EpochRecord => e !== undefined);
      return {
        epoch: i + 1,
        valAccuracy: meanStd(at.map((e) => e.valAccuracy)),
        valLoss: meanStd(at.map((e) => e.valLoss)),
        accuracy: meanStd(at.map((e) => e.accuracy)),
        loss: meanStd(at.map((e) => e.loss)),
      };
    });
    out.push({
      arm: arm.name,
      summary: arm.summary,
      seeds: mine.map((r) => r.seed),
      finalValAccuracy: meanStd(last.map((e) => e.valAccuracy)),
      finalValLoss: meanStd(last.map((e) => e.valLoss)),
      finalAccuracy: meanStd(last.map((e) => e.accuracy)),
      finalLoss: meanStd(last.map((e) => e.loss)),
      ...(tests.length === 0 ? {} : { testAccuracy: meanStd(tests) }),
      ...(diverged.length === 0 ? {} : { diverged }),
      perEpoch,
    });
  }
  return out;
}

const CSV_COLUMNS = [
  'arm',
  'seed',
  'epoch',
  'loss',
  'accuracy',
  'val_loss',
  'val_accuracy',
  'seconds',
  'train_seconds',
  'images_per_second',
  'backend',
  'config_hash',
  'val_correct',
  'val_images',
  'test_accuracy',
  'test_correct',
  'test_images',
  'diverged_epoch',
] as const;

/** RFC 4180 quoting; also defuses spreadsheet formulas (a leading = + - @ gets a quote). */
export function csvField(value: string | number): string {
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per (arm, seed, epoch) of the given runs; the test columns (the headline metric) on each
 * run's last epoch row, empty on the others; a diverged run has one more row, its diverging epoch,
 * with diverged_epoch set and no numbers.
 */
export function resultsCsv(runs: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of runs) {
    const blank = (n: number): string[] => new Array<string>(n).fill('');
    for (const e of r.epochs) {
      const final = e.epoch === r.epochs.length && r.test !== undefined;
      lines.push(
        [
          r.arm,
          r.seed,
          e.epoch,
          e.loss,
          e.accuracy,
          e.valLoss,
          e.valAccuracy,
          e.seconds,
          e.trainSeconds,
          e.imagesPerSecond,
          r.backend,
          r.configHash,
          e.valCorrect ?? '',
          e.valImages ?? '',
          final ? (r.test?.correct === undefined ? (r.test?.accuracy ?? '') : r.test.correct / r.test.images) : '',
          final ? (r.test?.correct ?? '') : '',
          final ? (r.test?.images ?? '') : '',
          '',
        ]
          .map(csvField)
          .join(','),
      );
    }
    if (r.diverged !== undefined)
      lines.push(
        [r.arm, r.seed, r.diverged.epoch, r.diverged.loss, ...blank(6), r.backend, r.configHash, ...blank(5), r.diverged.epoch]
          .map(csvField)
          .join(','),
      );
  }
  return `${lines.join('\n')}\n`;
}

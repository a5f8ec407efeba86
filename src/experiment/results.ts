/**
 * The results file's shapes: every arm, seed and epoch, with what produced it. Since the run store
 * (store.ts), results.json is a view rebuilt from OUT/runs (views.ts); runs are keyed by arm, seed
 * and a hash of everything else that affects the numbers.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BackendKernelsInfo } from '../backend/index.js';
import type { DataError } from '../core/types.js';
import type { StepDescription } from './pipeline.js';
import type { ComparisonSet } from './compare.js';
import type { AblationWarning } from './warnings.js';
import type { MixingStats } from './mixstats.js';
import { meanStd, type MeanStd } from './stats.js';

export const RESULTS_FORMAT = 'mixstream-ablation/1';

/** One epoch of one run. Metrics are the Keras ones: accuracy against the (possibly mixed) targets' argmax. */
export interface EpochRecord {
  /** From 1. */
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly valLoss: number;
  readonly valAccuracy: number;
  /** Wall seconds of the epoch, validation included. */
  readonly seconds: number;
  /** Wall seconds of the training batches alone. */
  readonly trainSeconds: number;
  /** Training images per second (train images / trainSeconds). */
  readonly imagesPerSecond: number;
}

/** One finished (arm, seed) run. */
export interface RunRecord {
  /** arm|seed|configHash|pipelineHash: what resume matches on. */
  readonly key: string;
  readonly configHash: string;
  readonly arm: string;
  readonly seed: number;
  /** The backend it ran on (resolved name, e.g. 'wasm'). */
  readonly backend: string;
  readonly pipeline: {
    readonly train: string;
    readonly trainSteps: readonly StepDescription[];
    readonly validation: string;
    readonly validationSteps: readonly StepDescription[];
  };
  readonly model: { readonly name: string; readonly options: Readonly<Record<string, unknown>>; readonly parameters: number };
  readonly epochs: readonly EpochRecord[];
  /** The test split, scored once after the last epoch (absent when the data has none). */
  readonly test?: { readonly loss: number; readonly accuracy: number; readonly images: number };
  /** What the arm's mixing did to the training targets (mixstats.ts); absent in older files. */
  readonly mixing?: MixingStats;
  readonly seconds: number;
  readonly finishedAt: string; /** Files skipped (onError 'skip') in the process that trained it, up to its end. */
  readonly skipped?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

/** Per-arm aggregates over seeds, for the current config. */
export interface ArmSummary {
  readonly arm: string;
  readonly summary: string;
  readonly seeds: readonly number[];
  readonly finalValAccuracy: MeanStd;
  readonly finalValLoss: MeanStd;
  readonly finalAccuracy: MeanStd;
  readonly finalLoss: MeanStd;
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
    /** Which code ran the heavy kernels (native addon, XNNPACK, ...) and on how many threads; absent in older files. */
    readonly kernels?: BackendKernelsInfo;
  };
  readonly arms: ReadonlyArray<{ readonly name: string; readonly summary: string; readonly pipeline: string }>;
  /** Every run kept, those of earlier configs too (their configHash differs); summaries use the current one only. */
  readonly runs: readonly RunRecord[];
  readonly summary: readonly ArmSummary[];
  /** Files left out, each once: when listing the data, and under --on-error skip when decoding. */
  readonly skipped?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
  /** Paired comparisons against the reference arm (compare.ts), from the current config's runs. */
  readonly comparisons?: ComparisonSet;
  /** Per compared arm, the first epoch its val accuracy separates from the reference. */
  readonly separation?: ReadonlyArray<{ readonly arm: string; readonly epoch: number | null }>;
  /** Too few seeds, too few validation images, curves still rising, an arm that barely acted. */
  readonly warnings?: readonly AblationWarning[];
  /** How the arms are paired (the same for every arm of one seed). */
  readonly design?: Readonly<Record<string, string>>;
}

/** Each skipped file once (every epoch meets it again), as results.json lists them. */
export function skippedFiles(errors: readonly DataError[]): Array<{ path: string; reason: string }> {
  const seen = new Map<string, { path: string; reason: string }>();
  for (const e of errors) if (!seen.has(e.origin)) seen.set(e.origin, { path: e.origin, reason: e.reason });
  return [...seen.values()];
}

/** Writes text to `file` via a temp file in the same folder and a rename: readers never see half a file. */
export async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Reads earlier runs from `file`; none when it is missing, unreadable or of another format. */
export async function readRuns(file: string): Promise<RunRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
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
    const mine = runs.filter((r) => r.arm === arm.name).sort((a, b) => a.seed - b.seed);
    if (mine.length === 0) continue;
    const last = mine.map((r) => r.epochs[r.epochs.length - 1]).filter((e): e is EpochRecord => e !== undefined);
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
] as const;

/** RFC 4180 quoting; also defuses spreadsheet formulas (a leading = + - @ gets a quote). */
export function csvField(value: string | number): string {
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per (arm, seed, epoch) of the given runs. */
export function resultsCsv(runs: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of runs) {
    for (const e of r.epochs) {
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
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A finished run as the store keeps it (OUT/runs/<config>/<arm>-s<seed>.json): its type and the
 * one validator that every reader of run files uses (runRecordProblem), in one place so that they
 * cannot drift apart. Shared by every folder of src/experiment: it imports none of them.
 */
import type { StepDescription } from '../flow/describe.js';

/** Per-run counts; `histogram[i]` counts batches with max(lambda, 1 - lambda) in [0.5 + i/40, 0.5 + (i+1)/40), the last bin closed. */
export interface MixingStats {
  readonly batches: number;
  /** Batches in which some label mass moved (lambda < 1 - 1e-6). */
  readonly mixedBatches: number;
  /** Mixed batches whose blend was negligible: max(lambda, 1 - lambda) > 0.99. */
  readonly barelyMixedBatches: number;
  readonly histogram: readonly number[];
}

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
  /** What the arm's mixing did to the training targets (train/mixstats.ts); absent in older files. */
  readonly mixing?: MixingStats;
  readonly seconds: number;
  readonly finishedAt: string; /** Files skipped (onError 'skip') in the process that trained it, up to its end. */
  readonly skipped?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

/** The last epoch of a run (undefined for a run with none). */
export const lastEpoch = (r: Pick<RunRecord, 'epochs'>): EpochRecord | undefined => r.epochs[r.epochs.length - 1];

/** What a reader expects of a run file beyond its shape (from its name and folder). */
export interface RunExpectation {
  readonly epochs?: number;
  readonly arm?: string;
  readonly seed?: number;
  readonly configHash?: string;
}

const isNum = (v: unknown): v is number => typeof v === 'number';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const EPOCH_NUMBERS = ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'seconds', 'trainSeconds', 'imagesPerSecond'] as const;

/** Why `e` is not the `i`-th (0-based) epoch record, or undefined. */
function epochProblem(e: unknown, i: number): string | undefined {
  if (!isObject(e)) return `epoch ${i + 1} is not an object`;
  if (e.epoch !== i + 1) return `epoch ${i + 1} is numbered ${String(e.epoch)}`;
  for (const k of EPOCH_NUMBERS) if (!isNum(e[k])) return `epoch ${i + 1}: '${k}' is not a number`;
  return undefined;
}

/** Why the optional parts (test, mixing, skipped) are not of their shape, or undefined. */
function optionalProblem(r: Record<string, unknown>): string | undefined {
  if (r.test !== undefined) {
    if (!isObject(r.test)) return `'test' is not an object`;
    for (const k of ['loss', 'accuracy'] as const) if (!isNum(r.test[k])) return `test: '${k}' is not a number`;
    if (!Number.isSafeInteger(r.test.images)) return `test: 'images' is not an integer`;
  }
  if (r.mixing !== undefined) {
    if (!isObject(r.mixing)) return `'mixing' is not an object`;
    for (const k of ['batches', 'mixedBatches', 'barelyMixedBatches'] as const)
      if (!Number.isSafeInteger(r.mixing[k])) return `mixing: '${k}' is not an integer`;
    if (!Array.isArray(r.mixing.histogram) || !r.mixing.histogram.every(isNum)) return `mixing: 'histogram' is not an array of numbers`;
  }
  if (r.skipped !== undefined && !Array.isArray(r.skipped)) return `'skipped' is not an array`;
  return undefined;
}

/**
 * Why `epochs` and `mixing` are not a run's position after `epochs.length` finished epochs (a
 * checkpoint's), or undefined: each epoch as runRecordProblem checks it, numbered 1..n.
 */
export function positionProblem(epochs: unknown, mixing: unknown): string | undefined {
  if (!Array.isArray(epochs)) return `'epochs' is not an array`;
  for (const [i, e] of epochs.entries()) {
    const problem = epochProblem(e, i);
    if (problem !== undefined) return problem;
  }
  return optionalProblem({ mixing });
}

/**
 * Why `value` is not a run record (undefined when it is one) matching `expected`: what a summary
 * trusts (the epochs array, each metric a number, the test score, the mixing counts) is checked,
 * so an edited file cannot make a summary say "over 2 seeds" while computing from 1.
 */
export function runRecordProblem(value: unknown, expected?: RunExpectation): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  const r = value;
  for (const k of ['key', 'configHash', 'arm', 'backend', 'finishedAt'] as const)
    if (typeof r[k] !== 'string') return `'${k}' is not a string`;
  if (!Number.isSafeInteger(r.seed)) return `'seed' is not an integer`;
  if (!isNum(r.seconds)) return `'seconds' is not a number`;
  if (!isObject(r.pipeline)) return `'pipeline' is missing`;
  if (!isObject(r.model)) return `'model' is missing`;
  if (!Array.isArray(r.epochs)) return `'epochs' is not an array`;
  if (r.epochs.length === 0) return `'epochs' is empty`;
  if (expected?.epochs !== undefined && r.epochs.length !== expected.epochs)
    return `holds ${r.epochs.length} epochs, expected ${expected.epochs}`;
  for (const [i, e] of r.epochs.entries()) {
    const problem = epochProblem(e, i);
    if (problem !== undefined) return problem;
  }
  const optional = optionalProblem(r);
  if (optional !== undefined) return optional;
  if (expected?.arm !== undefined && r.arm !== expected.arm) return `holds arm '${String(r.arm)}', expected '${expected.arm}'`;
  if (expected?.seed !== undefined && r.seed !== expected.seed) return `holds seed ${String(r.seed)}, expected ${expected.seed}`;
  if (expected?.configHash !== undefined && r.configHash !== expected.configHash)
    return `holds config ${String(r.configHash)}, expected ${expected.configHash}`;
  return undefined;
}

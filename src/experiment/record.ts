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
  /** Validation images classified right (valAccuracy = valCorrect / valImages); absent in files written before counts were kept. */
  readonly valCorrect?: number;
  readonly valImages?: number;
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
  /**
   * The test split, scored once after the last epoch (absent when the data has none). `correct`
   * (images right; accuracy = correct / images) and `bits` (base64 of a bit per test image, LSB
   * first, 1: right) are absent in files written before counts were kept: their comparisons say so.
   */
  readonly test?: {
    readonly loss: number;
    readonly accuracy: number;
    readonly images: number;
    readonly correct?: number;
    readonly bits?: string;
  };
  /** The run's loss became NaN or infinite in this epoch (from 1): its epochs stop before it and it has no test score. */
  readonly diverged?: { readonly epoch: number; readonly loss: string };
  /** What the arm's mixing did to the training targets (train/mixstats.ts); absent in older files. */
  readonly mixing?: MixingStats;
  readonly seconds: number;
  readonly finishedAt: string; /** Files skipped (onError 'skip') in the process that trained it, up to its end. */
  readonly skipped?: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

/** A bit vector as base64, for the run file. */
export const encodeBits = (bits: Uint8Array): string => Buffer.from(bits).toString('base64');

/** The first `images` bits of a base64 bit vector (LSB first), as 0/1 per image; RangeError when it is too short. */
export function decodeBits(base64: string, images: number): Uint8Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length < Math.ceil(images / 8)) throw new RangeError(`bit vector of ${bytes.length} bytes is too short for ${images} images`);
  const out = new Uint8Array(images);
  for (let i = 0; i < images; i++) out[i] = ((bytes[i >> 3] as number) >> (i & 7)) & 1;
  return out;
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
  for (const k of ['valCorrect', 'valImages'] as const)
    if (e[k] !== undefined && !(Number.isSafeInteger(e[k]) && (e[k] as number) >= 0)) return `epoch ${i + 1}: '${k}' is not a count`;
  return undefined;
}

/** Why the optional parts (test, mixing, skipped) are not of their shape, or undefined. */
function optionalProblem(r: Record<string, unknown>): string | undefined {
  if (r.test !== undefined) {
    if (!isObject(r.test)) return `'test' is not an object`;
    for (const k of ['loss', 'accuracy'] as const) if (!isNum(r.test[k])) return `test: '${k}' is not a number`;
    if (!Number.isSafeInteger(r.test.images)) return `test: 'images' is not an integer`;
    const images = r.test.images as number;
    if (
      r.test.correct !== undefined &&
      !(Number.isSafeInteger(r.test.correct) && (r.test.correct as number) >= 0 && (r.test.correct as number) <= images)
    )
      return `test: 'correct' is not a count of at most ${images}`;
    if (
      r.test.bits !== undefined &&
      (typeof r.test.bits !== 'string' || Buffer.from(r.test.bits, 'base64').length !== Math.ceil(images / 8))
    )
      return `test: 'bits' is not base64 of ${images} bits`;
  }
  if (r.diverged !== undefined && !(isObject(r.diverged) && Number.isSafeInteger(r.diverged.epoch))) return `'diverged' has no epoch`;
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
  const diverged = isObject(r.diverged);
  if (r.epochs.length === 0 && !diverged) return `'epochs' is empty`;
  // A diverged run stops at its divergence: fewer epochs than planned is what it is.
  if (expected?.epochs !== undefined && (diverged ? r.epochs.length >= expected.epochs : r.epochs.length !== expected.epochs))
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

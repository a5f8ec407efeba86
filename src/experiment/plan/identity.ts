/**
 * What identifies a run, in one place: the config hash (everything but arm and seed that changes
 * the numbers), the run key a finished run is matched on (arm|seed|configHash|pipelineHash), and
 * the names of a run's files in the store (OUT/runs/<configHash>/<arm>-s<seed>.json, .checkpoint,
 * .lock). Arm names are letters, digits, _ . - only (arms.ts checks), so these names are safe.
 */
import path from 'node:path';
import { hashKeys } from '../../core/random.js';

/** Stable JSON: object keys sorted, so equal configs hash equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** An 8-hex-digit hash of a JSON-able value. */
export function shortHash(value: unknown): string {
  return hashKeys([stableJson(value)])
    .toString(16)
    .padStart(8, '0');
}

/**
 * The config hash: of everything but arm and seed that changes the numbers, as the caller lists
 * it (prepare.ts: data, epochs, size, model, backend and kernels, recipe, splits, pipeline...).
 */
export const configHashOf = (identity: Readonly<Record<string, unknown>>): string => shortHash(identity);

/** arm|seed|configHash|pipelineHash: what a finished run is matched on (`steps`: the run pipeline's). */
export const runKey = (arm: string, seed: number, configHash: string, pipeline: { readonly steps: unknown }): string =>
  `${arm}|${seed}|${configHash}|${shortHash(pipeline.steps)}`;

/** The folder of one config's runs. */
export const configDir = (out: string, configHash: string): string => path.join(path.resolve(out), 'runs', configHash);

/** The file name of a finished run. */
export const runFileName = (arm: string, seed: number): string => `${arm}-s${seed}.json`;

/** A run file's name, parsed back (undefined: not a run file's name). */
export function parseRunFileName(name: string): { readonly arm: string; readonly seed: number } | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)-s(\d+)\.json$/.exec(name);
  return m ? { arm: m[1]!, seed: Number(m[2]) } : undefined;
}

/** A run's checkpoint in its config folder. */
export const checkpointFile = (dir: string, arm: string, seed: number): string => path.join(dir, `${arm}-s${seed}.checkpoint`);

/** A run's claim (lock file) in its config folder. */
export const lockFile = (dir: string, arm: string, seed: number): string => path.join(dir, `${arm}-s${seed}.lock`);

/**
 * What identifies a run, in one place: the config hash (everything but arm and seed that changes
 * the numbers), the run key a finished run is matched on (arm|seed|configHash|pipelineHash), and
 * the names of a run's files in the store (OUT/runs/<configHash>/<arm>-s<seed>.json, .checkpoint,
 * .lock). Arm names are letters, digits, _ . - only (arms.ts checks), so these names are safe; a
 * name read back from stored content (an old results.json) is checked again (storedRunPath).
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

/** A config hash as configHashOf writes it. */
const CONFIG_HASH = /^[0-9a-f]{8}$/;
/** An arm name as arms.ts allows it. */
const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * The run file of (configHash, arm, seed) under `out` when these came from stored content (an old
 * results.json): each from its fixed alphabet, and the path resolved inside OUT/runs; else why not.
 */
export function storedRunPath(out: string, configHash: unknown, arm: unknown, seed: unknown): string | { readonly problem: string } {
  if (typeof configHash !== 'string' || !CONFIG_HASH.test(configHash))
    return { problem: `its configHash ${JSON.stringify(configHash)} is not 8 hex digits` };
  if (typeof arm !== 'string' || !ARM_NAME.test(arm))
    return { problem: `its arm ${JSON.stringify(arm)} is not a name of letters, digits, _ . -` };
  if (!Number.isSafeInteger(seed) || (seed as number) < 0) return { problem: `its seed ${JSON.stringify(seed)} is not a whole number` };
  const runs = path.join(path.resolve(out), 'runs');
  const file = path.join(configDir(out, configHash), runFileName(arm, seed as number));
  const rel = path.relative(runs, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? { problem: `its run file '${file}' would lie outside ${runs}` } : file;
}

/**
 * User arms from a module (`--arms-module ./my-arms.ts`, RunAblationOptions.armsModule): a file
 * every process of an ablation imports by itself (the parent, each --jobs worker, each --shard
 * task of a Slurm array or Kubernetes job), so user arms run wherever the built-in ones do. Arm
 * functions cannot be sent to another process; a module path can.
 *
 * The module exports arms: its default export and its named exports, each an Arm, a list of arms
 * or an ArmRegistry (other exports are ignored). A .ts module is loaded through tsx when the
 * process has no TypeScript loader of its own.
 *
 * @example
 * // my-arms.ts
 * import { augment, batch, normalizeResize, oneHot } from 'mixstream/operators';
 * import type { Arm } from 'mixstream/experiment';
 * export const flipOnly: Arm = {
 *   name: 'flip-only',
 *   summary: 'horizontal flip only',
 *   build: (seed, o) => [normalizeResize({ size: o.size }), augment({ flip: 'horizontal', seed }), batch(o.batchSize), oneHot()],
 * };
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../../core/idioms.js';
import { InputError } from '../errors.js';
import type { Arm, ArmRegistry } from './arms.js';

const isArm = (x: unknown): x is Arm =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as Arm).name === 'string' &&
  typeof (x as Arm).summary === 'string' &&
  typeof (x as Arm).build === 'function';

// By shape, not instanceof: the module may have imported another copy of mixstream (dist or src).
const isRegistry = (x: unknown): x is ArmRegistry =>
  typeof x === 'object' && x !== null && typeof (x as ArmRegistry).names === 'function' && typeof (x as ArmRegistry).get === 'function';

/** The arms one export holds: an Arm, a list of them, or a registry's; nothing for anything else. */
function armsOf(value: unknown, file: string, name: string): Arm[] {
  if (isRegistry(value)) return value.names().map((n) => value.get(n));
  if (isArm(value)) return [value];
  if (Array.isArray(value) && value.length > 0 && value.some(isArm)) {
    const bad = value.findIndex((a) => !isArm(a));
    if (bad >= 0) throw new InputError(`${file}: export '${name}' item ${bad} is not an arm ({ name, summary, build })`);
    return value as Arm[];
  }
  return [];
}

const TS = /\.[cm]?tsx?$/i;
let tsxRegistered = false;

async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  // Loaded before in this process (the CLI loads the module more than once): the plain URL's failed
  // import is cached, so straight to the URL that worked.
  if (tsxRegistered && TS.test(file)) return (await import(`${url}?ts`)) as Record<string, unknown>;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!TS.test(file) || code !== 'ERR_UNKNOWN_FILE_EXTENSION' || tsxRegistered) throw error;
  }
  // This process runs compiled JavaScript: register tsx for the rest of it and import again (by
  // another URL, since the failed import of the first one may be cached).
  const { register } = await import('tsx/esm/api');
  register();
  tsxRegistered = true;
  return (await import(`${url}?ts`)) as Record<string, unknown>;
}

/**
 * The arms `file` exports (default export first, then named exports by name), each once. Throws
 * an InputError when the file cannot be imported, exports no arm, or exports two arms of one name.
 */
export async function loadArmsModule(file: string): Promise<Arm[]> {
  const absolute = path.resolve(file);
  let exports: Record<string, unknown>;
  try {
    exports = await importModule(absolute);
  } catch (error) {
    const why = errorMessage(error).split('\n')[0];
    throw new InputError(`arms module '${file}' could not be imported: ${why}`);
  }
  const names = Object.keys(exports).sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
  const arms = new Map<string, Arm>();
  for (const name of names) {
    for (const arm of armsOf(exports[name], file, name)) {
      const seen = arms.get(arm.name);
      if (seen !== undefined && seen !== arm) throw new InputError(`${file}: two different arms are named '${arm.name}'`);
      arms.set(arm.name, arm);
    }
  }
  if (arms.size === 0)
    throw new InputError(`arms module '${file}' exports no arm (an object { name, summary, build }, a list of them, or an ArmRegistry)`);
  return [...arms.values()];
}

/** `base` with the arms of `file` added (a copy; an arm of the module replaces a built-in one of its name). */
export async function withArmsModule(base: ArmRegistry, file: string | undefined): Promise<ArmRegistry> {
  return file === undefined ? base : base.with(...(await loadArmsModule(file)));
}

/**
 * The built-in data set: a deterministic generated image folder (writeSyntheticFolder), written
 * the first time it is needed under a cache folder, then reused. Written to a temporary folder and
 * renamed into place, with a marker file, so an interrupted generation is never mistaken for a
 * complete one.
 */
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeSyntheticFolder, type SyntheticOptions } from '../../sources/synthetic.js';

/** Bump when the options change: a new version is a new folder. */
// v2: crossed stripes, so a horizontal flip keeps each image in its class.
export const BUILTIN_VERSION = 'builtin-v2';

/**
 * 10 classes x 120 images, sides 40..120 px, heavy noise: at 32 px a small CNN learns it in a few
 * epochs without reaching 100%, so the arms can differ.
 */
export const BUILTIN_OPTIONS: Readonly<Required<SyntheticOptions>> = {
  classes: 10,
  perClass: 120,
  seed: 2024,
  minSide: 40,
  maxSide: 120,
  noise: 50,
};

const MARKER = '.complete';

/** The cache folder: $MIXSTREAM_CACHE, else $XDG_CACHE_HOME/mixstream, else ~/.cache/mixstream. */
export function cacheRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.MIXSTREAM_CACHE) return path.resolve(env.MIXSTREAM_CACHE);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'mixstream');
  return path.join(os.homedir(), '.cache', 'mixstream');
}

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

/**
 * Resolves to the built-in data set's folder, generating it first if it is not complete.
 * `onGenerate` is called before a generation starts (for a progress line).
 */
export async function ensureBuiltinDataset(
  options: {
    readonly cacheDir?: string;
    readonly onGenerate?: (folder: string) => void;
    /** Tests only: other generator options. */ readonly synthetic?: SyntheticOptions;
  } = {},
): Promise<string> {
  const synthetic = options.synthetic ?? BUILTIN_OPTIONS;
  const root = options.cacheDir ?? cacheRoot();
  const folder = path.join(root, BUILTIN_VERSION);
  if (await exists(path.join(folder, MARKER))) return folder;
  options.onGenerate?.(folder);
  await mkdir(root, { recursive: true });
  const temp = path.join(root, `.${BUILTIN_VERSION}.tmp-${process.pid}-${Date.now()}`);
  try {
    await writeSyntheticFolder(temp, synthetic);
    await writeFile(path.join(temp, MARKER), `${JSON.stringify({ version: BUILTIN_VERSION, options: synthetic })}\n`);
    // A stale, incomplete folder (no marker) is replaced; a complete one written meanwhile by
    // another process wins and ours is dropped.
    if (await exists(folder)) {
      if (await exists(path.join(folder, MARKER))) return folder;
      await rm(folder, { recursive: true, force: true });
    }
    try {
      await rename(temp, folder);
    } catch (error) {
      if (await exists(path.join(folder, MARKER))) return folder;
      throw error;
    }
    return folder;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * The built-in data set: deterministic generated image folders (writeSyntheticFolder), train/ and test/, written
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
// v3: train/ (600 images) and test/ (2,000 images of its own): one test image is 0.05 points, and
// with 48 training images a class the baseline fits its training images well above validation.
export const BUILTIN_VERSION = 'builtin-v3';

/**
 * train/: 10 classes x 60 images (validation split from them), sides 40..120 px, heavy noise: at
 * 32 px a small CNN learns it in a few epochs without reaching 100%, and with so few images a class
 * the baseline overfits (train accuracy well above validation), the regime a regulariser is for.
 */
export const BUILTIN_OPTIONS: Readonly<Required<SyntheticOptions>> = {
  classes: 10,
  perClass: 60,
  seed: 2024,
  minSide: 40,
  maxSide: 120,
  noise: 50,
};

/** test/: images a class, drawn with seed + 1 (never the training images): 2,000 in all, one image = 0.05 points. */
export const BUILTIN_TEST_PER_CLASS = 200;

/** Where the built-in data set's training and test images are, under the folder ensureBuiltinDataset returns. */
export const builtinSplits = (folder: string): { readonly train: string; readonly test: string } => ({
  train: path.join(folder, 'train'),
  test: path.join(folder, 'test'),
});

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
    const test = {
      ...synthetic,
      seed: (synthetic.seed ?? 0) + 1,
      perClass: options.synthetic ? (synthetic.perClass ?? 2) : BUILTIN_TEST_PER_CLASS,
    };
    await writeSyntheticFolder(builtinSplits(temp).train, synthetic);
    await writeSyntheticFolder(builtinSplits(temp).test, test);
    await writeFile(path.join(temp, MARKER), `${JSON.stringify({ version: BUILTIN_VERSION, options: synthetic, test })}\n`);
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

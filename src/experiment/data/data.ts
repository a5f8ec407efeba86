/**
 * The data an ablation trains on: a fixed train/validation split (the same for every arm and
 * seed, so arms are compared on the same images) and a fresh cold source per run, whose per-epoch
 * order is keyed by the run's seed.
 */
import path from 'node:path';
import type { Observable } from 'rxjs';
import { hashKeys, rng } from '../../core/random.js';
import type { DataError, EncodedSample } from '../../core/types.js';
import { listImageFolder, splitListing, type FolderListing } from '../../sources/imageFolder.js';
import { pipelineSeed, pullSource } from '../../sources/pullSource.js';
import { InputError } from '../errors.js';
import { checkSplits } from './splits.js';
import type { SourceSample } from './pipeline.js';
import { errorMessage } from '../../core/idioms.js';

/** What the runner needs from a data set. */
export interface AblationData {
  /** Where it came from, for the report (a path: untrusted text). */
  readonly location: string;
  /** What kind of source, e.g. 'image-folder'. */
  readonly kind: string;
  readonly classes: readonly string[];
  readonly trainCount: number;
  readonly validationCount: number;
  /** A short stable fingerprint of the contents' listing, part of the config hash. */
  readonly fingerprint: string;
  /**
   * A new cold training source; each subscription is one epoch, its order keyed by (seed, epoch).
   * The first subscription is epoch `firstEpoch` (default 0): how a resumed run picks up.
   */
  train(seed: number, options?: TrainSourceOptions): Observable<SourceSample>;
  /** A new cold validation source, in a fixed order. */
  validation(): Observable<SourceSample>;
  /** Files left out when listing (symbolic links outside the root, loops, special files), each with why. */
  readonly skipped?: readonly DataError[];
  /** Images of the test split, scored once per run after training and never used for choosing; 0 or absent: none. */
  readonly testCount?: number;
  /** A new cold test source, in a fixed order (present when testCount > 0). */
  test?(): Observable<SourceSample>;
  /** Where the test split comes from, in words ("10000 images: t10k-images-idx3-ubyte.gz + ... (the official test files)"); absent: no test split. */
  readonly testSource?: string;
}

/** Where a training source starts. */
export interface TrainSourceOptions {
  /** Number of the first subscription's epoch (0-based). Default 0. */
  readonly firstEpoch?: number;
}

export interface ImageFolderDataOptions {
  /** Fraction of each class held out for validation, in (0, 1): of the whole folder, test split included. */
  readonly validationSplit: number;
  /** Seed of the split (not of the runs): default 0. */
  readonly splitSeed?: number;
  /** Fraction of each class held out as a test split before the validation split, in [0, 1 - validationSplit). Default 0: none. */
  readonly testSplit?: number;
}

/** A listing as a source: one epoch per subscription, shuffled by (seed, epoch) when seed is given. */
function listingSource(
  files: FolderListing['files'],
  numClasses: number,
  seed: number | undefined,
  firstEpoch = 0,
): Observable<EncodedSample> {
  return pullSource(
    function* (epoch) {
      const order = [...files];
      if (seed !== undefined) rng(seed, 'ablation-order', epoch).shuffle(order);
      for (const [index, f] of order.entries()) yield { input: f.path, origin: f.path, label: f.label, numClasses, epoch, index };
    },
    { ...pipelineSeed(seed), firstEpoch },
  );
}

/**
 * Opens an image folder in Stanford Dogs layout (root/<class>/<image>). Rejects with an InputError
 * naming the problem when the folder is missing, holds no images, or a class ends up with no
 * training image after the split.
 */
export async function openImageFolderData(root: string, options: ImageFolderDataOptions): Promise<AblationData> {
  const { validationSplit, splitSeed = 0, testSplit = 0 } = options;
  checkSplits(validationSplit, testSplit);
  let full: FolderListing;
  try {
    full = await listImageFolder(root);
  } catch (error) {
    const message = errorMessage(error);
    throw new InputError(`data: ${message.replace(/^imageFolder: /, '')}`);
  }
  // The test split comes off first, with its own key; the validation split is then drawn from what
  // is left at validation / (1 - test), so that both are fractions of the whole.
  const testFiles = testSplit > 0 ? splitListing(full, root, testSplit, hashKeys([splitSeed, 'test-split']), 'validation') : [];
  const inTest = new Set(testFiles.map((f) => f.path));
  const listing: FolderListing = { ...full, files: full.files.filter((f) => !inTest.has(f.path)) };
  const ofRest = validationSplit / (1 - testSplit);
  const train = splitListing(listing, root, ofRest, splitSeed, 'training');
  const validation = splitListing(listing, root, ofRest, splitSeed, 'validation');
  if (validation.length === 0)
    throw new InputError(
      `data: '${root}' has too few images for a validation split of ${validationSplit} (${listing.files.length} images)`,
    );
  if (train.length === 0)
    throw new InputError(`data: '${root}' has no training images left after a validation split of ${validationSplit}`);
  const numClasses = listing.classes.length;
  for (const [name, files] of [
    ['training', train],
    ['validation', validation],
  ] as const) {
    const labels = new Set(files.map((f) => f.label));
    if (numClasses > 1 && labels.size < 2)
      throw new InputError(
        `data: the ${name} split of '${root}' holds only class '${listing.classes[[...labels][0] ?? 0]}' (of ${numClasses}): accuracy on it means nothing; give each class more images or change --val-split`,
      );
  }
  const fingerprint = hashKeys([
    ...full.classes,
    ...full.files.map((f) => `${f.label}:${path.relative(root, f.path)}`),
    ...(testSplit > 0 ? [`test ${testSplit}; validation of the whole`] : []),
  ])
    .toString(16)
    .padStart(8, '0');
  return {
    location: root,
    kind: 'image-folder',
    classes: listing.classes,
    trainCount: train.length,
    validationCount: validation.length,
    fingerprint,
    train: (seed, o = {}) => listingSource(train, numClasses, seed, o.firstEpoch ?? 0),
    validation: () => listingSource(validation, numClasses, undefined),
    skipped: listing.skipped,
    ...(testFiles.length === 0
      ? {}
      : {
          testCount: testFiles.length,
          test: () => listingSource(testFiles, numClasses, undefined),
          testSource: `${testFiles.length} images cut from the folder (--test-split ${testSplit}, stratified by class)`,
        }),
  };
}

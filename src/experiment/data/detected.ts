/**
 * Any data set `openDataset` recognises (TFRecord, CIFAR, MNIST, manifest, image folder) as
 * ablation data. Image folders keep their exact stratified split (data.ts); the others are split
 * by a seeded hash of each sample's origin (file and record), stable across epochs and runs.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { defer, from, map, switchMap, type Observable, type OperatorFunction } from 'rxjs';
import { hashKeys } from '../../core/random.js';
import { filterSamples } from '../../operators/filterSamples.js';
import { detectDataset, findTestSplit, openDataset, openDetected, type DetectedDataset } from '../../sources/detect.js';
import { openImageFolderData, type AblationData } from './data.js';
import { InputError } from '../errors.js';
import { checkSplits } from './splits.js';
import type { SourceSample } from './pipeline.js';
import type { DataError } from '../../core/types.js';
import { defined, errorMessage } from '../../core/idioms.js';

const message = (e: unknown): string => (errorMessage(e).split('\n')[0] ?? '').replace(/^(detectDataset|openDataset): /, '');

/** True when the sample with this origin is held out for validation. */
/**
 * Whether a sample is held out, from its origin relative to the data set's location: the split
 * stays the same when the data set is moved or copied elsewhere.
 */
const heldOut = (origin: string, fraction: number, seed: number, root: string, key = 'ablation-split'): boolean =>
  hashKeys([seed, key, origin.startsWith(root) ? origin.slice(root.length) : origin]) / 4294967296 < fraction;

/**
 * Which side of the split a sample falls on: a cut test split first (its own hash key, `test` > 0),
 * then validation, `validation` being a fraction of the whole: of what is left it is
 * validation / (1 - test).
 */
const sideOf = (origin: string, validation: number, test: number, seed: number, root: string): 'training' | 'validation' | 'test' =>
  test > 0 && heldOut(origin, test, seed, root, 'ablation-test-split')
    ? 'test'
    : heldOut(origin, validation / (1 - test), seed, root)
      ? 'validation'
      : 'training';

/** Keeps one side of the split, renumbering positions, and hands the dropped samples' credit back. */
function splitSide<T extends SourceSample>(
  fraction: number,
  seed: number,
  subset: 'training' | 'validation' | 'test',
  root: string,
  test = 0,
): OperatorFunction<T, T> {
  return (source) =>
    defer(() => {
      let index = 0;
      return source.pipe(
        filterSamples((s: T) => sideOf(s.origin, fraction, test, seed, root) === subset),
        map((s) => ({ ...s, index: index++ }) as T),
      );
    });
}

/**
 * Opens `target` as ablation data: image folders via openImageFolderData, anything else openDataset
 * recognises with a hash split. `seeds` are the runs' seeds (one shuffled source is opened per seed,
 * so each run's epochs count from 0). Counts need one pass over the data. Rejects with an InputError.
 */
export async function openDetectedData(
  target: string,
  options: {
    readonly validationSplit: number;
    readonly seeds: readonly number[];
    readonly splitSeed?: number;
    readonly testSplit?: number;
    /** A test set of its own (--test PATH): any data set openDataset recognises, with the training data's classes. */
    readonly test?: string;
    readonly onError?: 'fail' | 'skip';
    readonly onSkip?: (error: DataError) => void;
  },
): Promise<AblationData> {
  const { validationSplit, splitSeed = 0, testSplit = 0 } = options;
  // A bad record (TFRecord) is skipped and reported under onError 'skip', as a bad image is when decoded.
  const policy = {
    ...defined({ onError: options.onError }),
    ...defined({ onSkip: options.onSkip }),
  };
  let kind: string;
  try {
    kind = (await detectDataset(target)).kind;
  } catch (error) {
    throw new InputError(`data: ${message(error)}`);
  }
  checkSplits(validationSplit, testSplit);
  // The test split: --test PATH, else the files the data set names as its test split, else one cut
  // from the data (--test-split), else none. Never the validation split in its place.
  if (options.test !== undefined && path.resolve(options.test) === path.resolve(target))
    throw new InputError(`--test '${options.test}' is the training data itself: a test split must be images the model never trains on`);
  const found = options.test !== undefined ? undefined : await findTestSplit(target).catch(() => undefined);
  const given =
    options.test === undefined
      ? undefined
      : await detectDataset(options.test).catch((error: unknown) => {
          throw new InputError(`--test: ${message(error)}`);
        });
  const own: { dataset: DetectedDataset; description: string } | undefined = given
    ? { dataset: given, description: `--test ${options.test as string}` }
    : found;
  const cut = own ? 0 : testSplit;
  const withTest = async (data: AblationData): Promise<AblationData> => {
    if (!own) {
      if (cut > 0 && !data.testCount) throw new InputError(`data: '${target}' has too few samples for a test split of ${cut}`);
      return cut > 0 && data.testSource === undefined
        ? { ...data, testSource: `${data.testCount} images cut from the data (--test-split ${cut}, seeded by origin)` }
        : data;
    }
    const opened = await openDetected(own.dataset, { shuffle: false, ...policy }).catch((error: unknown) => {
      throw new InputError(`test split (${own.description}): ${message(error)}`);
    });
    const classes = await opened.classes;
    if (classes.length !== data.classes.length || classes.some((c, i) => c !== data.classes[i]))
      throw new InputError(
        `test split (${own.description}): its classes (${classes.length}: ${classes.slice(0, 4).join(', ')}${classes.length > 4 ? ', ...' : ''}) are not the training data's (${data.classes.length}: ${data.classes.slice(0, 4).join(', ')}${data.classes.length > 4 ? ', ...' : ''})`,
      );
    const source = opened.observable as Observable<SourceSample>;
    let testCount = 0;
    let print = 0;
    await new Promise<void>((resolve, reject) =>
      source.subscribe({
        next: (s) => {
          testCount++;
          print = hashKeys([print, s.origin, s.label]);
        },
        error: (error: unknown) => reject(new InputError(`test split (${own.description}): ${message(error)}`)),
        complete: resolve,
      }),
    );
    if (testCount === 0) throw new InputError(`test split (${own.description}) holds no images`);
    return {
      ...data,
      fingerprint: hashKeys([data.fingerprint, 'test', print]).toString(16).padStart(8, '0'),
      testCount,
      test: () => source,
      testSource: `${testCount} images: ${own.description}`,
    };
  };
  if (kind === 'imageFolder') return withTest(await openImageFolderData(target, { validationSplit, splitSeed, testSplit: cut }));
  // Origins are hashed relative to the data's folder (a manifest or a single file: the folder it is in).
  const root = (await stat(target)).isDirectory() ? path.resolve(target) : path.dirname(path.resolve(target));
  try {
    const listing = await openDataset(target, { shuffle: false, ...policy });
    const classes = await listing.classes;
    let trainCount = 0;
    let validationCount = 0;
    let testCount = 0;
    let fingerprint = cut > 0 ? hashKeys(['test-split', cut, 'validation of the whole']) : 0;
    await new Promise<void>((resolve, reject) =>
      (listing.observable as Observable<SourceSample>).subscribe({
        next: (s) => {
          const side = sideOf(s.origin, validationSplit, cut, splitSeed, root);
          if (side === 'validation') validationCount++;
          else if (side === 'test') testCount++;
          else trainCount++;
          fingerprint = hashKeys([fingerprint, s.origin, s.label]);
        },
        error: reject,
        complete: resolve,
      }),
    );
    if (trainCount === 0 || validationCount === 0)
      throw new InputError(
        `data: '${target}' has too few samples for a validation split of ${validationSplit} (${trainCount + validationCount})`,
      );
    const unshuffled = (await openDataset(target, { shuffle: false, ...policy })).observable as Observable<SourceSample>;
    const validation = (): Observable<SourceSample> => unshuffled.pipe(splitSide(validationSplit, splitSeed, 'validation', root, cut));
    return withTest({
      location: target,
      kind,
      classes,
      trainCount,
      validationCount,
      fingerprint: (fingerprint >>> 0).toString(16).padStart(8, '0'),
      // A source of its own per call: sources count epochs per subscription, so two runs sharing
      // one (two arms, same seed) would see different epoch numbers in one process than in two.
      // Epochs before firstEpoch are skipped by subscribing and leaving at once: a pullSource
      // numbers the subscription and stops before its first item.
      train: (seed, o = {}) => {
        let opened: Promise<Observable<SourceSample>> | undefined;
        const open = (): Promise<Observable<SourceSample>> =>
          (opened ??= openDataset(target, { seed, shuffle: true, ...policy }).then((d) => {
            const source = d.observable as Observable<SourceSample>;
            for (let e = 0; e < (o.firstEpoch ?? 0); e++) source.subscribe({ error: () => undefined }).unsubscribe();
            return source;
          }));
        return defer(() => from(open())).pipe(
          switchMap((source) => source),
          splitSide(validationSplit, splitSeed, 'training', root, cut),
        );
      },
      validation,
      ...(testCount === 0 ? {} : { testCount, test: () => unshuffled.pipe(splitSide(validationSplit, splitSeed, 'test', root, cut)) }),
    });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`data: ${message(error)}`);
  }
}

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
import { detectDataset, openDataset } from '../../sources/detect.js';
import { openImageFolderData, type AblationData } from './data.js';
import { InputError } from '../errors.js';
import type { SourceSample } from './pipeline.js';
import type { DataError } from '../../core/types.js';
import { defined, errorMessage } from '../../core/idioms.js';

const message = (e: unknown): string => (errorMessage(e).split('\n')[0] ?? '').replace(/^(detectDataset|openDataset): /, '');

/** True when the sample with this origin is held out for validation. */
/**
 * Whether a sample is held out, from its origin relative to the data set's location: the split
 * stays the same when the data set is moved or copied elsewhere.
 */
const heldOut = (origin: string, fraction: number, seed: number, root: string): boolean =>
  hashKeys([seed, 'ablation-split', origin.startsWith(root) ? origin.slice(root.length) : origin]) / 4294967296 < fraction;

/** Keeps one side of the split, renumbering positions, and hands the dropped samples' credit back. */
function splitSide<T extends SourceSample>(
  fraction: number,
  seed: number,
  subset: 'training' | 'validation',
  root: string,
): OperatorFunction<T, T> {
  return (source) =>
    defer(() => {
      let index = 0;
      return source.pipe(
        filterSamples((s: T) => heldOut(s.origin, fraction, seed, root) === (subset === 'validation')),
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
  if (kind === 'imageFolder') return openImageFolderData(target, { validationSplit, splitSeed, testSplit });
  // Origins are hashed relative to the data's folder (a manifest or a single file: the folder it is in).
  const root = (await stat(target)).isDirectory() ? path.resolve(target) : path.dirname(path.resolve(target));
  try {
    const listing = await openDataset(target, { shuffle: false, ...policy });
    const classes = await listing.classes;
    let trainCount = 0;
    let validationCount = 0;
    let fingerprint = 0;
    await new Promise<void>((resolve, reject) =>
      (listing.observable as Observable<SourceSample>).subscribe({
        next: (s) => {
          if (heldOut(s.origin, validationSplit, splitSeed, root)) validationCount++;
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
    const validation = (): Observable<SourceSample> => unshuffled.pipe(splitSide(validationSplit, splitSeed, 'validation', root));
    return {
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
          splitSide(validationSplit, splitSeed, 'training', root),
        );
      },
      validation,
    };
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`data: ${message(error)}`);
  }
}

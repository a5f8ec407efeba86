/**
 * Any data set `openDataset` recognises (TFRecord, CIFAR, MNIST, manifest, image folder) as
 * ablation data. Image folders keep their exact stratified split (data.ts); the others are split
 * by a seeded hash of each sample's origin (file and record), stable across epochs and runs.
 */
import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import { hashKeys } from '../core/random.js';
import { filterSamples } from '../operators/filterSamples.js';
import { detectDataset, openDataset } from '../sources/detect.js';
import { openImageFolderData, type AblationData } from './data.js';
import { InputError } from './errors.js';
import type { SourceSample } from './pipeline.js';

const message = (e: unknown): string => ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').replace(/^(detectDataset|openDataset): /, '');

/** True when the sample with this origin is held out for validation. */
const heldOut = (origin: string, fraction: number, seed: number): boolean => hashKeys([seed, 'ablation-split', origin]) / 4294967296 < fraction;

/** Keeps one side of the split, renumbering positions, and hands the dropped samples' credit back. */
function splitSide<T extends SourceSample>(fraction: number, seed: number, subset: 'training' | 'validation'): OperatorFunction<T, T> {
  return (source) =>
    defer(() => {
      let index = 0;
      return source.pipe(
        filterSamples((s: T) => heldOut(s.origin, fraction, seed) === (subset === 'validation')),
        map((s) => ({ ...s, index: index++ }) as T),
      );
    });
}

/**
 * Opens `target` as ablation data: image folders via openImageFolderData, anything else openDataset
 * recognises with a hash split. `seeds` are the runs' seeds (one shuffled source is opened per seed,
 * so each run's epochs count from 0). Counts need one pass over the data. Rejects with an InputError.
 */
export async function openDetectedData(target: string, options: { readonly validationSplit: number; readonly seeds: readonly number[]; readonly splitSeed?: number; readonly testSplit?: number }): Promise<AblationData> {
  const { validationSplit, splitSeed = 0, testSplit = 0 } = options;
  let kind: string;
  try {
    kind = (await detectDataset(target)).kind;
  } catch (error) {
    throw new InputError(`data: ${message(error)}`);
  }
  if (kind === 'imageFolder') return openImageFolderData(target, { validationSplit, splitSeed, testSplit });
  try {
    const listing = await openDataset(target, { shuffle: false });
    const classes = await listing.classes;
    let trainCount = 0;
    let validationCount = 0;
    let fingerprint = 0;
    await new Promise<void>((resolve, reject) =>
      (listing.observable as Observable<SourceSample>).subscribe({
        next: (s) => {
          if (heldOut(s.origin, validationSplit, splitSeed)) validationCount++;
          else trainCount++;
          fingerprint = hashKeys([fingerprint, s.origin, s.label]);
        },
        error: reject,
        complete: resolve,
      }),
    );
    if (trainCount === 0 || validationCount === 0) throw new InputError(`data: '${target}' has too few samples for a validation split of ${validationSplit} (${trainCount + validationCount})`);
    const perSeed = new Map<number, Observable<SourceSample>>();
    for (const seed of options.seeds) perSeed.set(seed, (await openDataset(target, { seed, shuffle: true })).observable as Observable<SourceSample>);
    const unshuffled = (await openDataset(target, { shuffle: false })).observable as Observable<SourceSample>;
    const validation = (): Observable<SourceSample> => unshuffled.pipe(splitSide(validationSplit, splitSeed, 'validation'));
    return {
      location: target,
      kind,
      classes,
      trainCount,
      validationCount,
      fingerprint: (fingerprint >>> 0).toString(16).padStart(8, '0'),
      train: (seed) => {
        const source = perSeed.get(seed);
        if (!source) throw new RangeError(`openDetectedData: seed ${seed} was not opened (seeds: ${options.seeds.join(', ')})`);
        return source.pipe(splitSide(validationSplit, splitSeed, 'training'));
      },
      validation,
    };
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`data: ${message(error)}`);
  }
}

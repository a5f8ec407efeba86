import { map, type Observable, type OperatorFunction } from 'rxjs';
import { mixupBatch, oneHotLabels } from '../core/mix.js';
import { rng } from '../core/random.js';
import type { Batch } from '../core/types.js';
import { ownsItsBatches } from './batch.js';
import { mixingOptions, type MixingOptions } from './mixing.js';

/**
 * Mixup (Zhang et al. 2018) on batches: each sample is blended with its partner (from a random
 * permutation of the batch), pixels and labels with the same lambda ~ Beta(alpha, alpha).
 * Emits one new batch per batch; completes with the source.
 *
 * @param options alpha defaults to 0.2 (the paper's ImageNet setting).
 * @example
 * batches$.pipe(mixup({ alpha: 0.2, seed: 1 }))
 */
export function mixup(options: MixingOptions = {}): OperatorFunction<Batch, Batch> {
  const opts = mixingOptions('mixup', options, 0.2);
  return (source) => {
    // After `batch` with only mixstream's batch operators between, nobody else holds the batch: mix it in place.
    const inPlace = ownsItsBatches.has(source);
    const mixed$: Observable<Batch> = source.pipe(
      map((b) => {
        const targets = b.targets ?? oneHotLabels(b.labels, b.numClasses);
        const mixed = mixupBatch(b.images, targets, b.shape, b.numClasses, { ...opts, inPlace }, rng(opts.seed, 'mixup', b.epoch, b.index));
        return { ...b, images: mixed.images, targets: mixed.targets };
      }),
    );
    ownsItsBatches.add(mixed$);
    return mixed$;
  };
}

import type { OperatorFunction } from 'rxjs';
import { mixupBatch } from '../core/mix.js';
import { streamFor } from '../core/seeds.js';
import type { Batch } from '../core/types.js';
import { mixingOperator, mixingOptions, type MixingOptions } from './mixing.js';
import { described } from '../flow/describe.js';

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
  return described(
    'mixup',
    { ...options },
    mixingOperator('mixup', (b, targets, inPlace, sinkSeed) =>
      mixupBatch(b.images, targets, b.shape, b.numClasses, { ...opts, inPlace }, streamFor('mixup', opts.seed, b, sinkSeed)),
    ),
  );
}

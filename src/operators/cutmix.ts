import type { OperatorFunction } from 'rxjs';
import { cutmixBatch } from '../core/mix.js';
import { streamFor } from '../core/seeds.js';
import type { Batch } from '../core/types.js';
import { mixingOperator, mixingOptions, type MixingOptions } from './mixing.js';
import { described } from '../flow/describe.js';

export interface CutmixOptions extends MixingOptions {
  /** Beta(alpha, alpha); default 1, as in the CutMix paper (lambda uniform). */
  readonly alpha?: number;
  /** Recompute the label weight from the clipped box area (timm's correct_lam). Default true. */
  readonly correctLambda?: boolean;
}

/**
 * CutMix (Yun et al. 2019) on batches: each sample gets a box of its partner (from a random
 * permutation of the batch) pasted in, box sides sqrt(1 - lambda) of the image's, lambda ~
 * Beta(alpha, alpha), centre uniform, box clipped; the label becomes the area-weighted blend of
 * both one-hot labels (or of the batch's soft targets when present). Any batch size, 1 included.
 * Emits one new batch per batch; completes with the source.
 *
 * @example
 * batches$.pipe(cutmix({ alpha: 1, seed: 1 }))
 */
export function cutmix(options: CutmixOptions = {}): OperatorFunction<Batch, Batch> {
  const opts = mixingOptions('cutmix', options, 1);
  const correctLambda = options.correctLambda ?? true;
  return described(
    'cutmix',
    { ...options },
    mixingOperator('cutmix', (b, targets, inPlace, sinkSeed) =>
      cutmixBatch(
        b.images,
        targets,
        b.shape,
        b.numClasses,
        { ...opts, correctLambda, inPlace },
        streamFor('cutmix', opts.seed, b, sinkSeed),
      ),
    ),
  );
}

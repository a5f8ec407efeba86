import { map, type Observable, type OperatorFunction } from 'rxjs';
import { oneHotLabels, smoothLabels } from '../core/mix.js';
import { check, type Batch } from '../core/types.js';
import { passOwnership } from './batch.js';
import { expectKind } from '../core/kinds.js';
import { described } from '../flow/describe.js';

/**
 * Label smoothing as its own step: targets * (1 - epsilon) + epsilon / K. Works on a batch's soft
 * targets when present (after oneHot, cutmix or mixup), else on its one-hot labels.
 *
 * @param epsilon in [0, 1), e.g. 0.1.
 * @example
 * batches$.pipe(oneHot(), labelSmoothing(0.1))
 */
export function labelSmoothing(epsilon: number): OperatorFunction<Batch, Batch> {
  check(Number.isFinite(epsilon) && epsilon >= 0 && epsilon < 1, 'labelSmoothing', 'epsilon', `must be in [0, 1), got ${epsilon}`);
  const smooth = map(
    (b: Batch): Batch => (
      expectKind('labelSmoothing', 'batch', b),
      { ...b, targets: smoothLabels(b.targets ?? oneHotLabels(b.labels, b.numClasses), b.numClasses, epsilon) }
    ),
  );
  return described('labelSmoothing', { epsilon }, (source: Observable<Batch>) => passOwnership(source, source.pipe(smooth)));
}

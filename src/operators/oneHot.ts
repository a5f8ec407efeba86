import { map, type Observable, type OperatorFunction } from 'rxjs';
import { oneHotLabels } from '../core/mix.js';
import { check, type Batch } from '../core/types.js';
import { passOwnership } from './batch.js';
import { expectKind } from '../core/kinds.js';
import { described } from '../flow/describe.js';

/**
 * Turns a batch's class indices into one-hot targets [B, K]. Emits one batch per batch; completes
 * with the source. A label outside [0, K) errors the stream naming the label.
 *
 * @param numClasses K; default: the batch's own `numClasses` (from the source).
 * @example
 * batches$.pipe(oneHot())
 */
export function oneHot(numClasses?: number): OperatorFunction<Batch, Batch> {
  check(
    numClasses === undefined || (Number.isInteger(numClasses) && numClasses >= 1),
    'oneHot',
    'numClasses',
    `must be an integer >= 1, got ${numClasses}`,
  );
  const toOneHot = map((b: Batch): Batch => {
    expectKind('oneHot', 'batch', b);
    const k = numClasses ?? b.numClasses;
    return { ...b, numClasses: k, targets: oneHotLabels(b.labels, k) };
  });
  return described('oneHot', numClasses === undefined ? {} : { numClasses }, (source: Observable<Batch>) =>
    passOwnership(source, source.pipe(toOneHot)),
  );
}

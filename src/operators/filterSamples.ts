import { defer, filter, type MonoTypeOperatorFunction } from 'rxjs';
import { samplesIn } from '../core/types.js';
import { creditOf } from '../flow/credit.js';

/**
 * RxJS `filter` that keeps the sink's credit right: each value it drops (a sample, or a batch's
 * samples) is given back, so the pipeline never stalls for the credit of values that will never
 * reach the sink (see flow/credit.ts). Emits the values `keep` accepts; completes with the source.
 *
 * @example
 * samples$.pipe(filterSamples((s) => s.label < 10))
 */
export function filterSamples<T>(keep: (value: T) => boolean): MonoTypeOperatorFunction<T> {
  return (source) =>
    defer(() => {
      const credit = creditOf();
      return source.pipe(
        filter((value) => {
          if (keep(value)) return true;
          credit?.release(samplesIn(value));
          return false;
        }),
      );
    });
}

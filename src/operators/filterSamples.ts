import { filter, type MonoTypeOperatorFunction } from 'rxjs';

/**
 * RxJS `filter`, kept for pipelines written before the credit travelled with the samples: a plain
 * `filter` now gives back the credit of what it drops by itself (flow/credit.ts). Emits the values
 * `keep` accepts; completes with the source.
 *
 * @example
 * samples$.pipe(filterSamples((s) => s.label < 10))
 */
export function filterSamples<T>(keep: (value: T) => boolean): MonoTypeOperatorFunction<T> {
  return filter(keep);
}

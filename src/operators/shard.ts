import type { Observable, OperatorFunction } from 'rxjs';
import { described } from '../flow/describe.js';
import { check } from '../core/types.js';
import { describeAs } from '../flow/identity.js';
import { filterSamples } from './filterSamples.js';

/**
 * Keeps the items whose epoch position `index` satisfies `index % count === index_`: shard `index_`
 * of `count`, for data-parallel training where each process reads a disjoint share.
 *
 * The shares of index 0..count-1 are disjoint and together are the whole epoch; since a source's
 * per-epoch order is keyed by its seed (not by timing), every process sees the same global order,
 * whatever `count`: interleaving the shares by position gives back the unsharded epoch. Items pass
 * unchanged (their `index` is still the global position); errors and completion pass through.
 *
 * Each dropped item was emitted under the sink's credit, so it is released (filterSamples):
 * a sharded pipeline never stalls for credit. `count` and `index` are checked at creation
 * (RangeError naming the option).
 *
 * @example
 * const mine$ = imageFolder(root, { seed }).pipe(shard(workers, rank));
 */
export function shard<T extends { readonly index: number }>(count: number, index: number): OperatorFunction<T, T> {
  check(Number.isInteger(count) && count >= 1, 'shard', 'count', `must be a positive integer, got ${count}`);
  check(
    Number.isInteger(index) && index >= 0 && index < count,
    'shard',
    'index',
    `must be an integer in [0, ${count}) (count), got ${index}`,
  );
  const keep = filterSamples<T>((item) => item.index % count === index);
  return described('shard', { count, index }, (source: Observable<T>) => describeAs(keep(source), `shard(${count}, ${index})`, source));
}

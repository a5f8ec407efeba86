import { rng, type Rng } from './random.js';

/** What a random operator keys its draws on: an item's place in its epoch and its chain. */
export interface Drawn {
  readonly epoch: number;
  readonly index: number;
  readonly seed?: number;
  readonly stream?: number;
}

/**
 * The random stream of operator `op` for `item`, as tf.data combines a global and an op seed: an
 * explicit `seed` keys it by (seed, op, epoch, index); without one, by (the pipeline's seed from
 * the source, op, the operator's place among the random operators the item passed, epoch, index),
 * so two unseeded operators never share a stream and the source's seed changes every draw.
 * Items from a source without a seed take the sink's (`sinkSeed`, its `seed` option), else 0.
 */
export function streamFor(op: string, seed: number | undefined, item: Drawn, sinkSeed?: number): Rng {
  if (seed !== undefined) return rng(seed, op, item.epoch, item.index);
  return rng(item.seed ?? sinkSeed ?? 0, op, 'place', item.stream ?? 0, item.epoch, item.index);
}

/** The place the next random operator after this one has in the chain. */
export const nextStream = (item: Drawn): number => (item.stream ?? 0) + 1;

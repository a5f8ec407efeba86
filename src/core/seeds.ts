import { rng, type Rng } from './random.js';

/** What a random operator keys its draws on: an item's place in its epoch and its chain. */
export interface Drawn {
  readonly epoch: number;
  readonly index: number;
  readonly seed?: number;
  readonly stream?: number;
  readonly source?: number;
}

/**
 * The random stream of operator `op` for `item`, as tf.data combines a global and an op seed: an
 * explicit `seed` keys it by (seed, op, epoch, index); without one, by (the pipeline's seed from
 * the source, op, the operator's place among the random operators the item passed, epoch, index),
 * so two unseeded operators never share a stream and the source's seed changes every draw.
 * Items from a source without a seed take the sink's (`sinkSeed`, its `seed` option), else 0.
 * Items of the second and later sources under one sink (merged: `item.source` > 0) add their
 * source's number to the keys, so samples with the same index in two merged sources never share
 * a draw; the first source's keys are the ones a pipeline of one source has always had.
 */
export function streamFor(op: string, seed: number | undefined, item: Drawn, sinkSeed?: number): Rng {
  const source = item.source ?? 0;
  if (seed !== undefined)
    return source > 0 ? rng(seed, op, 'source', source, item.epoch, item.index) : rng(seed, op, item.epoch, item.index);
  const base = item.seed ?? sinkSeed ?? 0;
  return source > 0
    ? rng(base, op, 'source', source, 'place', item.stream ?? 0, item.epoch, item.index)
    : rng(base, op, 'place', item.stream ?? 0, item.epoch, item.index);
}

/** The place the next random operator after this one has in the chain. */
export const nextStream = (item: Drawn): number => (item.stream ?? 0) + 1;

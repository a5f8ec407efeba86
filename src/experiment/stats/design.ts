/**
 * The paired design, as results.json records it. For one seed every arm starts from the same
 * model weights, trains on the same split and reads its source in the same order; only the arm's
 * own operators differ. So a per-seed difference between two arms is the arms' doing, not the
 * seed's luck, and compare.ts works on those differences. test/experiment/paired.test.ts checks it.
 */
export const PAIRED_DESIGN: Readonly<Record<string, string>> = {
  pairedBy: 'seed',
  modelInit: 'the zoo model built with the run seed: the same initial weights for every arm of one seed',
  split: 'one train/validation split for the whole ablation (split seed 0), the same for every arm and seed',
  sourceOrder: "the training source's per-epoch order keyed by (seed, epoch): the same for every arm of one seed",
  differs: "only the arm's own operators (and their random draws, keyed by the seed and their place in the chain)",
};

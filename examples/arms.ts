/**
 * An arms module: your own arms, in a file every process of an ablation imports by itself, so they
 * train with --jobs, in each --shard task and on Slurm or Kubernetes like the built-in arms.
 *
 *   mixstream ablate --arms-module examples/arms.ts --arms baseline,cutmix,cutmix-half --jobs 2
 *   mixstream report ablation-results --arms-module examples/arms.ts
 *
 * Every exported arm (an Arm, a list of them, or an ArmRegistry) is added to the built-in ones.
 */
import { cutmix } from '../src/operators/index.js';
import { augmentedBatches, type Arm } from '../src/experiment/index.js';

/** The reference cutmix arm with alpha 0.5 instead of 1: a pipeline that differs by one operator. */
export const cutmixHalf: Arm = {
  name: 'cutmix-half',
  summary: 'augment, then CutMix (alpha 0.5)',
  build: (seed, o) => [...augmentedBatches(seed, o), cutmix({ alpha: 0.5, seed })],
};

/**
 * Arms beyond the reference four, for regulariser ablations: label smoothing, and CutMix / Mixup
 * with one lambda per sample (timm's 'elem' mode) instead of one per batch. Registered in every
 * default registry (see withRecipeArms), listed by `mixstream arms`, run when named in --arms.
 */
import { cutmix, labelSmoothing, mixup, oneHot } from '../../operators/index.js';
import { augmentedBatches, type Arm, type ArmRegistry } from './arms.js';

export const RECIPE_ARMS: readonly Arm[] = [
  {
    name: 'label-smoothing',
    summary: 'augment, then label smoothing 0.1',
    parent: 'augment',
    build: (seed, o) => [...augmentedBatches(seed, o), oneHot(), labelSmoothing(0.1)],
  },
  {
    name: 'cutmix-sample',
    summary: 'augment, then CutMix (alpha 1), one lambda per sample',
    parent: 'cutmix',
    build: (seed, o) => [...augmentedBatches(seed, o), cutmix({ alpha: 1, perSample: true, seed })],
  },
  {
    name: 'mixup-sample',
    summary: 'augment, then Mixup (alpha 0.2), one lambda per sample',
    parent: 'mixup',
    build: (seed, o) => [...augmentedBatches(seed, o), mixup({ alpha: 0.2, perSample: true, seed })],
  },
];

/** `registry` with the recipe arms added (a copy; names already there are kept as they are). */
export function withRecipeArms(registry: ArmRegistry): ArmRegistry {
  return registry.with(...RECIPE_ARMS.filter((a) => !registry.has(a.name)));
}

/**
 * The one list of built-in arms, for every place that looks an arm name up without a user
 * registry: `ablate` (and its --jobs workers), `mixstream arms` and `mixstream report`.
 */
import { defaultArmRegistry, type ArmRegistry } from './arms.js';
import { withRecipeArms } from './recipeArms.js';

/** A fresh registry of the built-in arms: the reference arms (arms.ts) and the recipe arms (recipeArms.ts). */
export const builtinArms = (): ArmRegistry => withRecipeArms(defaultArmRegistry());

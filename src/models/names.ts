/** The zoo's model names (no tfjs here: the CLI checks its flags before loading it). */

/** The zoo's model names, as a CLI flag or config file spells them. */
export type ModelName = 'simple-cnn' | 'resnet' | 'mobilenet';
/** Every model name, for validating user input. */
export const MODEL_NAMES: readonly ModelName[] = ['simple-cnn', 'resnet', 'mobilenet'];

/** The zoo's model names (no tfjs here: the CLI checks its flags before loading it). */

/** The zoo's model names, as a CLI flag or config file spells them. */
export type ModelName = 'simple-cnn' | 'resnet' | 'mobilenet' | 'mobilenet-v2' | 'resnet50';
/** Every model name, for validating user input. */
export const MODEL_NAMES: readonly ModelName[] = ['simple-cnn', 'resnet', 'mobilenet', 'mobilenet-v2', 'resnet50'];
/** The standard ImageNet backbones among them (keras.applications' layer names, pretrained weights load). */
export const BACKBONE_NAMES: readonly ModelName[] = ['mobilenet-v2', 'resnet50'];

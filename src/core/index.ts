export { addBrightness, flipHorizontal, flipVertical, resizeBilinear, toRgb, toUnitFloat } from './image.js';
export { blendInto, boxArea, cutmixBatch, cutmixBox, mixTargets, mixupBatch, oneHotLabels, pasteBox, smoothLabels } from './mix.js';
export type { Box, MixOptions, MixResult } from './mix.js';
export { hashKeys, rng, Rng } from './random.js';
export type { Key } from './random.js';
export { check, dataError, samplesIn, SkipLog } from './types.js';
export type { Batch, DataError, EncodedSample, ImageSample, Position } from './types.js';

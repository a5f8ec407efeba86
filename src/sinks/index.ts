export { previewPng, savePreview } from './preview.js';
export type { PreviewOptions } from './preview.js';
export { toAsyncIterable } from './toAsyncIterable.js';
export type { EpochIterable, EpochIterator } from './toAsyncIterable.js';
export { batchTensors, toTfDataset } from './toTfDataset.js';

export { previewPng, savePreview } from './preview.js';
export type { PreviewOptions } from './preview.js';
export { StallError, toAsyncIterable } from './toAsyncIterable.js';
export type { EpochIterable, EpochIterator, SinkOptions, SinkStats } from './toAsyncIterable.js';
export { batchTensors, toTfDataset } from './toTfDataset.js';
export type { TfDatasetOptions } from './toTfDataset.js';

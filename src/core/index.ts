export {
  addBrightness,
  exactBytes,
  flipHorizontal,
  flipVertical,
  packUnit,
  resizeBilinear,
  resizeBytes,
  toRgb,
  transformImage,
  valuesOf,
  writeValues,
} from './image.js';
export type { Transform } from './image.js';
export { blendInto, boxArea, cutmixBatch, cutmixBox, mixTargets, mixupBatch, oneHotLabels, pasteBox, smoothLabels } from './mix.js';
export type { Box, MixOptions, MixResult } from './mix.js';
export { CAFFE_MEAN_BGR, IMAGENET_MEAN, IMAGENET_STD, PREPROCESS_MODES, preprocessValues } from './preprocess.js';
export type { PreprocessMode } from './preprocess.js';
export { hashKeys, rng, Rng } from './random.js';
export type { Key } from './random.js';
export { check, dataError, samplesIn, SkipLog } from './types.js';
export type { Batch, DataError, EncodedSample, ImageSample, Position } from './types.js';
export { crc32c, maskCrc32c, maskedCrc32c, unmaskCrc32c } from './crc32c.js';
export { CsvParser, parseCsv } from './csv.js';
export { encodeIdxHeader, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdxHeader } from './idx.js';
export { isJpeg, jpegOrientation } from './jpeg.js';
export { encodeExample, parseExample, ProtobufError } from './protobuf.js';
export type { Feature, FeatureInput } from './protobuf.js';
export { encodeTfrecord, readTfrecordHeader, TFRECORD_FOOTER_BYTES, TFRECORD_HEADER_BYTES } from './tfrecordFrame.js';
export { nativeStatus } from './native.js';

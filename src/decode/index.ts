export { decodeImage } from './decodeImage.js';
export { DecodePool, decodePool } from './pool.js';
export { DecodedImages } from './memo.js';

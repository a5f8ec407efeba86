export { fromArrays } from './fromArrays.js';
export type { ArraysData, FromArraysOptions } from './fromArrays.js';
export { IMAGE_EXTENSIONS, imageFolder, listImageFolder, splitListing } from './imageFolder.js';
export type { FolderListing, ImageFolderOptions } from './imageFolder.js';
export { pullSource } from './pullSource.js';

import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../core/idx.js';
import { readTfrecordHeader, TFRECORD_HEADER_BYTES } from '../core/tfrecordFrame.js';
import type { DataError, EncodedSample, ImageSample } from '../core/types.js';
import { fileKind, openRegular, systemRoot } from './files.js';
import { gunzipHead, hasGzipMagic } from './gzip.js';
import { cifar, cifarClassNames, listCifarFiles, type CifarVariant } from './cifar.js';
import { findMnistFiles, mnist, mnistClassNames } from './idx.js';
import { imageFolder, listImageFolder } from './imageFolder.js';
import { manifest, manifestFormat, readManifest } from './manifest.js';
import { isTfrecordName, listTfrecordShards, tfrecord, tfrecordClassNames } from './tfrecord.js';
import { defined, errorMessage } from '../core/idioms.js';

/** What `detectDataset` found at a path. */
export type DetectedDataset =
  | { readonly kind: 'tfrecord'; readonly shards: readonly string[] }
  | { readonly kind: 'cifar'; readonly variant: CifarVariant; readonly dir: string; readonly files: readonly string[] }
  | {
      readonly kind: 'mnist';
      readonly images: string;
      readonly labels: string;
      /** The folder or file name mentions 'fashion'. */ readonly fashion: boolean;
    }
  | { readonly kind: 'manifest'; readonly file: string; readonly format: 'csv' | 'jsonl' }
  | { readonly kind: 'imageFolder'; readonly root: string };

export interface DetectOptions {
  /** For CIFAR and MNIST folders: which split. Default 'train'. */
  readonly split?: 'train' | 'test';
}

const MNIST_NAME = /(images|labels)[.-]idx([13])-ubyte(\.gz)?$/i;

/** The first `n` bytes of `file`, inflated when it is gzipped (no more than that is inflated). */
async function head(file: string, n: number): Promise<Uint8Array> {
  const { handle } = await openRegular('detectDataset', file);
  let raw: Uint8Array;
  try {
    const buf = new Uint8Array(Math.max(n, 16));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    raw = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (!hasGzipMagic(raw)) return raw.subarray(0, n);
  return gunzipHead('detectDataset', file, n).catch(() => new Uint8Array(0));
}

function mnistPartner(file: string): { images: string; labels: string } {
  const dir = path.dirname(file);
  const name = path.basename(file);
  const swap = (from: 'images' | 'labels'): string =>
    name.replace(
      MNIST_NAME,
      (_m, _kind: string, _d: string, gz: string | undefined) =>
        `${from === 'images' ? 'labels' : 'images'}-idx${from === 'images' ? 1 : 3}-ubyte${gz ?? ''}`,
    );
  const isImages = /images/i.test(name);
  return isImages ? { images: file, labels: path.join(dir, swap('images')) } : { images: path.join(dir, swap('labels')), labels: file };
}

/**
 * Says which kind of dataset is at `target` (a file or folder), by names and magic bytes:
 * - TFRecord: a file named like a shard (`*.tfrecord*`, `*.tfrec`) or whose first 12 bytes are a
 *   record header with a valid CRC; a folder holding such files.
 * - CIFAR: `*.bin` files (data_batch_N.bin, test_batch.bin, train.bin, test.bin), or a folder of
 *   them (or holding cifar-10-batches-bin / cifar-100-binary).
 * - MNIST / Fashion-MNIST: an IDX file (magic 0x00000803 / 0x00000801, gzipped or not; its partner
 *   found by name), or a folder holding train-/t10k- pairs; `fashion` when the path mentions it.
 * - A manifest: a .csv, .jsonl, .ndjson or .json file.
 * - An image folder: a folder of class folders.
 * Rejects with an error naming the path when it is missing or none of these.
 */
export async function detectDataset(target: string, options: DetectOptions = {}): Promise<DetectedDataset> {
  const split = options.split ?? 'train';
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new Error(`detectDataset: '${target}' does not exist`);
  const system = systemRoot(await realpath(target));
  if (system) throw new Error(`detectDataset: '${target}' is under ${system} (a system folder, not data)`);
  if (!info.isFile() && !info.isDirectory()) throw new Error(`detectDataset: '${target}' is ${fileKind(info)}, not a data file or folder`);
  const fashion = /fashion/i.test(path.resolve(target));
  if (info.isFile()) {
    const name = path.basename(target);
    if (/\.(csv|jsonl|ndjson|json)$/i.test(name)) return { kind: 'manifest', file: target, format: manifestFormat(target) };
    if (isTfrecordName(name)) return { kind: 'tfrecord', shards: [target] };
    if (MNIST_NAME.test(name)) return { kind: 'mnist', ...mnistPartner(target), fashion };
    if (/\.bin$/i.test(name)) {
      const listing = await listCifarFiles([target]);
      return { kind: 'cifar', variant: listing.variant, dir: listing.dir, files: listing.files };
    }
    const bytes = await head(target, TFRECORD_HEADER_BYTES);
    if (bytes.length >= 4) {
      const magic = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
      if (magic === IDX_IMAGES_MAGIC || magic === IDX_LABELS_MAGIC) return { kind: 'mnist', ...mnistPartner(target), fashion };
    }
    if (bytes.length === TFRECORD_HEADER_BYTES && readTfrecordHeader(bytes, 0).ok) return { kind: 'tfrecord', shards: [target] };
    throw new Error(`detectDataset: '${target}' is not a TFRecord, CIFAR, IDX or manifest file`);
  }
  const names = await readdir(target);
  if (names.some(isTfrecordName)) return { kind: 'tfrecord', shards: await listTfrecordShards(target) };
  if (
    names.some((n) => /^(data_batch_\d+|test_batch|train|test)\.bin$/i.test(n)) ||
    names.includes('cifar-10-batches-bin') ||
    names.includes('cifar-100-binary')
  ) {
    const listing = await listCifarFiles(target, { split });
    return { kind: 'cifar', variant: listing.variant, dir: listing.dir, files: listing.files };
  }
  if (names.some((n) => MNIST_NAME.test(n))) return { kind: 'mnist', ...(await findMnistFiles(target, split)), fashion };
  await listImageFolder(target).catch((error: unknown) => {
    throw new Error(
      `detectDataset: '${target}' holds no TFRecord shards, CIFAR batches, MNIST files or class folders (${errorMessage(error)})`,
    );
  });
  return { kind: 'imageFolder', root: target };
}

export interface OpenDatasetOptions extends DetectOptions {
  /** Seed of the per-epoch order. Default 0. */
  readonly seed?: number;
  /** Shuffle each epoch (TFRecord: the shard order). Default true. */
  readonly shuffle?: boolean;
  /** TFRecord: number of classes; default from `label.labels.txt` beside the shards, else required. */
  readonly numClasses?: number;
  /** MNIST: name the classes as Fashion-MNIST's. Default: when the path mentions 'fashion'. */
  readonly fashion?: boolean;
  /** TFRecord: what to do with a bad record (see `tfrecord`). Default 'fail'. */
  readonly onError?: 'fail' | 'skip';
  /** TFRecord: called for each skipped record. */
  readonly onSkip?: (error: DataError) => void;
  /** Manifest: the folder paths are relative to. Default: the manifest's folder. */
  readonly root?: string;
}

/** A dataset opened by `openDataset`: its samples, encoded (to decode) or already decoded. */
export type OpenedDataset = {
  readonly dataset: DetectedDataset;
  /** Class names by label; reads files only when needed. */ readonly classes: Promise<string[]>;
} & (
  | { readonly decoded: false; readonly observable: Observable<EncodedSample> }
  | { readonly decoded: true; readonly observable: Observable<ImageSample> }
);

const quiet = <T>(p: Promise<T>): Promise<T> => {
  p.catch(() => {}); // rejections surface to whoever awaits it, never as unhandled
  return p;
};

/**
 * Detects the dataset at `target` (see `detectDataset`) and opens the matching source: TFRecord,
 * manifest and image folders give `EncodedSample`s (`decoded: false`: decode and resize them),
 * CIFAR and MNIST give `ImageSample`s (`decoded: true`; MNIST has 1 channel). `classes` resolves to
 * the class names by label (tensorflow_datasets' label.labels.txt, CIFAR's meta files, the manifest's
 * labels, the folder names; numbers where nothing names them). The observable is cold, as each
 * source is. Rejects when nothing is recognised, or with a RangeError naming `numClasses` for
 * TFRecord shards without label.labels.txt and no `numClasses` option.
 */
export async function openDataset(target: string, options: OpenDatasetOptions = {}): Promise<OpenedDataset> {
  const dataset = await detectDataset(target, options);
  const common = {
    ...defined({ seed: options.seed }),
    ...defined({ shuffle: options.shuffle }),
  };
  switch (dataset.kind) {
    case 'tfrecord': {
      const names = await tfrecordClassNames(dataset.shards[0] as string);
      const numClasses = options.numClasses ?? names?.length;
      if (numClasses === undefined)
        throw new RangeError(`openDataset: option 'numClasses' is required for TFRecord data without label.labels.txt ('${target}')`);
      const observable = tfrecord(dataset.shards, {
        ...common,
        numClasses,
        ...(options.onError ? { onError: options.onError } : {}),
        ...(options.onSkip ? { onSkip: options.onSkip } : {}),
      });
      const classes = names && names.length === numClasses ? names : Array.from({ length: numClasses }, (_, i) => String(i));
      return { dataset, decoded: false, observable, classes: Promise.resolve(classes) };
    }
    case 'cifar':
      return {
        dataset,
        decoded: true,
        observable: cifar(dataset.files, { ...common, variant: dataset.variant }),
        classes: quiet(cifarClassNames(dataset.dir, dataset.variant)),
      };
    case 'mnist':
      return {
        dataset,
        decoded: true,
        observable: mnist({ images: dataset.images, labels: dataset.labels }, common),
        classes: Promise.resolve(mnistClassNames(options.fashion ?? dataset.fashion)),
      };
    case 'manifest': {
      const root = options.root === undefined ? {} : { root: options.root };
      return {
        dataset,
        decoded: false,
        observable: manifest(dataset.file, { ...common, ...root }),
        classes: quiet(readManifest(dataset.file, root).then((l) => [...l.classes])),
      };
    }
    case 'imageFolder':
      return {
        dataset,
        decoded: false,
        observable: imageFolder(dataset.root, common),
        classes: quiet(listImageFolder(dataset.root).then((l) => [...l.classes])),
      };
  }
}

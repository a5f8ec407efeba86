import { access, readdir, realpath, stat } from 'node:fs/promises';
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
import { isTfrecordName, listTfrecordShards, tfrecord, tfrecordClassNames, tfrecordShardSplit } from './tfrecord.js';
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
  | {
      readonly kind: 'manifest';
      readonly file: string;
      readonly format: 'csv' | 'jsonl';
      /** Only the rows of the manifest's split column that say 'test' (see `manifest`'s `split`). */ readonly split?: 'test';
    }
  | { readonly kind: 'imageFolder'; readonly root: string };

export interface DetectOptions {
  /**
   * For CIFAR and MNIST folders and TFRecord shard folders: which split. Default 'train'. A shard
   * folder's 'train' split leaves out shards named as test shards (`tfrecordShardSplit`) unless
   * every shard is; its 'test' split is those shards.
   */
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
  if (names.some(isTfrecordName)) {
    const shards = await listTfrecordShards(target);
    const test = shards.filter((s) => tfrecordShardSplit(s) === 'test');
    if (split === 'test') {
      if (test.length === 0) throw new Error(`detectDataset: '${target}' holds no test shards (names with a 'test' word)`);
      return { kind: 'tfrecord', shards: test };
    }
    return { kind: 'tfrecord', shards: test.length < shards.length ? shards.filter((s) => !test.includes(s)) : shards };
  }
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
  return openDetected(await detectDataset(target, options), options, target);
}

/** Opens a data set `detectDataset` or `findTestSplit` found, as `openDataset` does (`target` names it in errors). */
export async function openDetected(
  dataset: DetectedDataset,
  options: Omit<OpenDatasetOptions, 'split'> = {},
  target: string = dataset.kind === 'tfrecord'
    ? (dataset.shards[0] ?? '')
    : dataset.kind === 'cifar'
      ? dataset.dir
      : dataset.kind === 'mnist'
        ? dataset.images
        : dataset.kind === 'manifest'
          ? dataset.file
          : dataset.root,
): Promise<OpenedDataset> {
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
      // Rows a split column marks 'test' are never training rows.
      const root = { ...(options.root === undefined ? {} : { root: options.root }), split: dataset.split ?? ('train' as const) };
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

/** A data set's own test split, as `findTestSplit` finds it. */
export interface FoundTestSplit {
  /** The test split, to open with `openDetected` or `openDataset`'s switch (its kind is the training data's). */
  readonly dataset: DetectedDataset;
  /** Which files or rows, in words: "t10k-images-idx3-ubyte.gz (official test files)". */
  readonly description: string;
}

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

/**
 * The test split a data set names itself, or undefined when it names none:
 * - MNIST / Fashion-MNIST: the `t10k-images` / `t10k-labels` pair beside the training files;
 * - CIFAR-10: `test_batch.bin`; CIFAR-100: `test.bin`, beside the training batches;
 * - a TFRecord shard folder: its shards named as test shards (`*-test.tfrecord-*`, see `tfrecordShardSplit`);
 * - a manifest: a sibling manifest named as it is with 'train' turned into 'test' (`train.csv` ->
 *   `test.csv`), else `test.<ext>` beside it, else the rows whose 'split' column says 'test';
 * - an image folder: none (cut one with a test fraction).
 * Never the training files themselves. Rejects as `detectDataset` does when `target` is not data.
 */
export async function findTestSplit(target: string): Promise<FoundTestSplit | undefined> {
  const train = await detectDataset(target);
  const base = (f: string): string => path.basename(f);
  switch (train.kind) {
    case 'mnist': {
      const files = await findMnistFiles(path.dirname(train.images), 'test').catch(() => undefined);
      if (!files || path.resolve(files.images) === path.resolve(train.images)) return undefined;
      return {
        dataset: { kind: 'mnist', images: files.images, labels: files.labels, fashion: train.fashion },
        description: `${base(files.images)} + ${base(files.labels)} (the official test files)`,
      };
    }
    case 'cifar': {
      const listing = await listCifarFiles(train.dir, { split: 'test', variant: train.variant }).catch(() => undefined);
      const trained = new Set(train.files.map((f) => path.resolve(f)));
      if (!listing || listing.files.some((f) => trained.has(path.resolve(f)))) return undefined;
      return {
        dataset: { kind: 'cifar', variant: listing.variant, dir: listing.dir, files: listing.files },
        description: `${listing.files.map(base).join(', ')} (the official ${listing.variant} test batch)`,
      };
    }
    case 'tfrecord': {
      if (!(await stat(target)).isDirectory()) return undefined;
      const test = await detectDataset(target, { split: 'test' }).catch(() => undefined);
      if (test?.kind !== 'tfrecord' || test.shards.some((s) => train.shards.includes(s))) return undefined;
      return {
        dataset: test,
        description: `${test.shards.length} test shard${test.shards.length === 1 ? '' : 's'} (${base(test.shards[0] as string)}${test.shards.length > 1 ? ', ...' : ''})`,
      };
    }
    case 'manifest': {
      const name = base(train.file);
      const ext = path.extname(name);
      const candidates = [
        ...(/train/i.test(name) ? [name.replace(/train/i, (m) => (m === 'TRAIN' ? 'TEST' : m === 'Train' ? 'Test' : 'test'))] : []),
        `test${ext}`,
      ];
      for (const c of candidates) {
        const file = path.join(path.dirname(train.file), c);
        if (c !== name && (await exists(file)))
          return { dataset: { kind: 'manifest', file, format: manifestFormat(file) }, description: `${c} (the manifest's test file)` };
      }
      const listing = await readManifest(train.file).catch(() => undefined);
      if (!listing?.splits?.includes('test')) return undefined;
      return { dataset: { ...train, split: 'test' }, description: `the rows of ${name} whose split is 'test'` };
    }
    case 'imageFolder':
      return undefined;
  }
}

import { readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdxHeader, type IdxHeader } from '../core/idx.js';
import { rng } from '../core/random.js';
import { check, type ImageSample } from '../core/types.js';
import { describeSource } from '../flow/identity.js';
import { DEFAULT_MAX_HELD_INFLATED_BYTES, DEFAULT_MAX_INFLATED_BYTES, DEFAULT_MAX_PIXELS, pixelLimitReason } from '../core/limits.js';
import { fingerprintFiles, openRegular, RowFile, SourceError } from './files.js';
import { gunzipHead, gunzipRowsInOrder, hasGzipMagic, InflatedStream, maxInflatedSize } from './gzip.js';
import { pipelineSeed, pullSource } from './pullSource.js';

/** Fashion-MNIST's class names, by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
/** MNIST's class names, by label: the digits. */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface MnistFiles {
  /** The images file (idx3-ubyte, gzipped or not). */
  readonly images: string;
  /** The labels file (idx1-ubyte, gzipped or not). */
  readonly labels: string;
}

export interface MnistOptions {
  /** Which pair to read when given a folder: 'train' (train-*) or 'test' (t10k-*). Default 'train'. */
  readonly split?: 'train' | 'test';
  /** Name the classes as Fashion-MNIST's (for `mnistClassNames`, `openDataset`). Default false (digits). */
  readonly fashion?: boolean;
  /** Seed of the per-epoch order. Default 0. */
  readonly seed?: number;
  /** Shuffle each epoch (keyed by (seed, 'mnist', epoch)). Default true. */
  readonly shuffle?: boolean;
  /** Largest image (rows x columns) the header may declare. Default DEFAULT_MAX_PIXELS (40 megapixels). */
  readonly maxPixels?: number;
  /** Largest inflated size of a gzipped file, in bytes. Default DEFAULT_MAX_INFLATED_BYTES (4 GiB). */
  readonly maxInflatedBytes?: number;
  /**
   * Most inflated image bytes of a gzipped file held at once, in bytes: a shuffled epoch over a
   * larger file takes one pass over the gzip per this many bytes of images. Default
   * DEFAULT_MAX_HELD_INFLATED_BYTES (256 MiB; all of MNIST's 47 MB, one pass an epoch).
   */
  readonly maxHeldBytes?: number;
}

/** The class names of MNIST (digits) or, with `fashion`, Fashion-MNIST. */
export function mnistClassNames(fashion = false): string[] {
  return [...(fashion ? FASHION_MNIST_CLASSES : MNIST_CLASSES)];
}

const PAIR = /^(train|t10k)-(images|labels)[.-]idx([13])-ubyte(\.gz)?$/i;

/**
 * The images and labels files of one split in a folder laid out as the MNIST / Fashion-MNIST
 * downloads are: train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-*. Rejects naming
 * the folder when either is missing.
 */
export async function findMnistFiles(dir: string, split: 'train' | 'test' = 'train'): Promise<MnistFiles> {
  const prefix = split === 'train' ? 'train' : 't10k';
  const names = (await readdir(dir)).filter((n) => PAIR.test(n) && n.toLowerCase().startsWith(prefix)).sort();
  // Prefer the uncompressed file when both are there.
  const pick = (kind: string): string | undefined =>
    names.filter((n) => n.toLowerCase().includes(`-${kind}`)).sort((a, b) => a.length - b.length)[0];
  const images = pick('images');
  const labels = pick('labels');
  if (!images || !labels)
    throw new Error(`mnist: folder '${dir}' lacks ${prefix}-images-idx3-ubyte[.gz] or ${prefix}-labels-idx1-ubyte[.gz]`);
  return { images: path.join(dir, images), labels: path.join(dir, labels) };
}

interface IdxLimits {
  readonly maxPixels: number;
  readonly maxInflatedBytes: number;
  readonly maxHeldBytes: number;
}

/** An IDX file whose header was checked: plain (an open handle) or gzipped (inflated on demand). */
type OpenedIdx = IdxHeader & { readonly declared: number; readonly what: string } & (
    | { readonly handle: FileHandle; readonly gzip: false }
    | { readonly handle?: undefined; readonly gzip: true; readonly inflate: () => Promise<InflatedStream> }
  );

/**
 * Opens an IDX file (gzipped or not) and checks its header before anything else is read or
 * inflated: the magic number, the image size against `maxPixels`, and the declared size against
 * the file (plain: equal; gzip: no more than deflate can hold and than `maxInflatedBytes`). A plain
 * file comes back as an open handle (the caller closes it); a gzip as a way to inflate it as a
 * stream, capped at the declared size: nothing is written to disk.
 */
async function openIdx(file: string, magic: number, dims: number, limits: IdxLimits): Promise<OpenedIdx> {
  const where = 'mnist';
  const opened = await openRegular(where, file);
  let handle: FileHandle | undefined = opened.handle;
  try {
    const first = new Uint8Array(4 + 4 * dims);
    const { bytesRead } = await handle.read(first, 0, first.length, 0);
    const gzip = hasGzipMagic(first.subarray(0, bytesRead));
    const head = gzip ? await gunzipHead(where, file, first.length) : first.subarray(0, bytesRead);
    const header = parseIdxHeader(head);
    if (typeof header === 'string') throw new SourceError(where, file, header);
    if (header.magic !== magic)
      throw new SourceError(
        where,
        file,
        `magic number 0x${header.magic.toString(16).padStart(8, '0')}, expected 0x${magic.toString(16).padStart(8, '0')} (${dims === 3 ? 'images: ubyte, 3 dimensions' : 'labels: ubyte, 1 dimension'})`,
      );
    if (dims === 3) {
      const tooBig = pixelLimitReason(header.dims[2] ?? 0, header.dims[1] ?? 0, limits.maxPixels);
      if (tooBig && (header.dims[0] ?? 0) > 0) throw new SourceError(where, file, `header ${tooBig}`);
    }
    const declared = header.headerBytes + header.dims.reduce((a, b) => a * b, 1);
    const what = `its header (${header.dims.join(' x ')})`;
    if (gzip) {
      const most = Math.min(maxInflatedSize(opened.size), limits.maxInflatedBytes);
      if (declared > most)
        throw new SourceError(
          where,
          file,
          `header (${header.dims.join(' x ')}) declares ${declared} bytes, more than ${declared > limits.maxInflatedBytes ? `the limit of ${limits.maxInflatedBytes} bytes (maxInflatedBytes)` : `a gzip of ${opened.size} bytes can hold`}; not inflated`,
        );
      return { ...header, declared, what, gzip: true, inflate: () => InflatedStream.open(where, file, declared, what) };
    }
    if (opened.size !== declared) {
      throw new SourceError(
        where,
        file,
        `has ${opened.size} bytes, ${what} declares ${declared}: ${opened.size < declared ? 'truncated' : 'trailing bytes'}`,
      );
    }
    const out = { ...header, declared, what, handle, gzip: false as const };
    handle = undefined;
    return out;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** The `n` labels of an opened labels file (one byte each: held). */
async function readLabels(labels: OpenedIdx, file: string, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  if (labels.gzip) {
    const stream = await labels.inflate();
    try {
      await stream.read(undefined, 0, labels.headerBytes);
      await stream.read(out, 0, n);
      await stream.expectEnd();
    } finally {
      await stream.close();
    }
    return out;
  }
  let got = 0;
  while (got < n) {
    const { bytesRead } = await labels.handle.read(out, got, n - got, labels.headerBytes + got);
    if (bytesRead === 0) throw new SourceError('mnist', file, `ended after ${got} of ${n} labels`);
    got += bytesRead;
  }
  return out;
}

/**
 * A cold source over MNIST or Fashion-MNIST IDX files (gzipped or not, detected by the 1f 8b magic
 * bytes, whatever the name), emitting one `ImageSample` per image: rows x columns x 1, float32 in
 * [0, 1], `channels` 1, `numClasses` 10, `origin` `${imagesFile}#${i}`. `input` is a folder (see
 * `findMnistFiles`) or `{ images, labels }`. Each subscription is one epoch, shuffled with
 * (seed, 'mnist', epoch) unless `shuffle` is false; it completes after the last image.
 *
 * Images are read by position with a file handle (in ~1 MiB runs when in order). A gzipped file's
 * header is read first and checked (pixel limit, declared size against what the gzip can hold and
 * `maxInflatedBytes`), then it is inflated as a stream, capped at the declared size, and never
 * written anywhere: in file order in one pass, shuffled in one pass per `maxHeldBytes` of images
 * (one for MNIST), gathering that window of the epoch's order (see `gunzipRowsInOrder`): memory
 * does not grow with the file (the labels, one byte an image, are held). Nothing is read before
 * subscription.
 *
 * Errors (a `SourceError` naming the file): a magic number other than 0x00000803 (images) or
 * 0x00000801 (labels), counts that differ between the files, a size that does not match the
 * header (truncated), an image over `maxPixels`, a gzip declaring more than it can hold or than
 * `maxInflatedBytes`, corrupt gzip data, a FIFO, socket or device, a label above 9 (naming `${labelsFile}#${i}`).
 * Options are checked at creation (RangeError naming the option).
 *
 * @example
 * const train$ = mnist('fashion-mnist/', { fashion: true, seed: 1 });
 */
export function mnist(input: string | MnistFiles, options: MnistOptions = {}): Observable<ImageSample> {
  const { split = 'train', seed = 0, shuffle = true } = options;
  const where = 'mnist';
  check(
    typeof input === 'string'
      ? input.length > 0
      : typeof input === 'object' && input !== null && typeof input.images === 'string' && typeof input.labels === 'string',
    where,
    'input',
    'must be a folder or { images, labels } paths',
  );
  check(split === 'train' || split === 'test', where, 'split', `must be 'train' or 'test', got '${String(split)}'`);
  check(Number.isFinite(seed), where, 'seed', `must be a finite number, got ${seed}`);
  const limits: IdxLimits = {
    maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
    maxInflatedBytes: options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES,
    maxHeldBytes: options.maxHeldBytes ?? DEFAULT_MAX_HELD_INFLATED_BYTES,
  };
  check(
    Number.isSafeInteger(limits.maxPixels) && limits.maxPixels >= 1,
    where,
    'maxPixels',
    `must be a positive integer, got ${limits.maxPixels}`,
  );
  check(
    Number.isSafeInteger(limits.maxHeldBytes) && limits.maxHeldBytes >= 1,
    where,
    'maxHeldBytes',
    `must be a positive integer, got ${limits.maxHeldBytes}`,
  );
  check(
    Number.isSafeInteger(limits.maxInflatedBytes) && limits.maxInflatedBytes >= 1,
    where,
    'maxInflatedBytes',
    `must be a positive integer, got ${limits.maxInflatedBytes}`,
  );
  const source = pullSource(async function* (epoch) {
    const files = typeof input === 'string' ? await findMnistFiles(input, split) : input;
    const opened: OpenedIdx[] = [];
    let images: RowFile | undefined;
    try {
      const ih = await openIdx(files.images, IDX_IMAGES_MAGIC, 3, limits);
      opened.push(ih);
      const lh = await openIdx(files.labels, IDX_LABELS_MAGIC, 1, limits);
      opened.push(lh);
      const [n = 0, rows = 0, cols = 0] = ih.dims;
      const labelCount = lh.dims[0] ?? 0;
      if (n !== labelCount)
        throw new SourceError(where, files.images, `holds ${n} images but '${files.labels}' holds ${labelCount} labels`);
      const labels = await readLabels(lh, files.labels, n); // one byte an image, its size checked above
      const order = shuffle ? rng(seed, 'mnist', epoch).permutation(n) : undefined;
      const per = rows * cols;
      let rowsInOrder: AsyncIterable<[number, Uint8Array]>;
      if (ih.gzip) {
        // Streamed in windows of maxHeldBytes: no temporary file, memory bounded whatever the header says.
        rowsInOrder = gunzipRowsInOrder(
          ih.inflate,
          ih.headerBytes,
          per,
          n,
          order,
          Math.max(1, Math.floor(limits.maxHeldBytes / Math.max(1, per))),
        );
      } else {
        images = await RowFile.open({ handle: ih.handle, name: files.images }, ih.headerBytes, per, n, !shuffle);
        opened.shift(); // the RowFile owns its handle now
        const file = images;
        rowsInOrder = (async function* () {
          for (let index = 0; index < n; index++) {
            const i = order ? (order[index] as number) : index;
            yield [i, await file.row(i)] as [number, Uint8Array];
          }
        })();
      }
      let index = 0;
      for await (const [i, bytes] of rowsInOrder) {
        const label = labels[i] as number;
        if (label > 9) throw new SourceError(where, `${files.labels}#${i}`, `label ${label} is outside [0, 10)`);
        const image = new Float32Array(per);
        for (let p = 0; p < per; p++) image[p] = (bytes[p] as number) / 255;
        yield {
          image,
          height: rows,
          width: cols,
          channels: 1,
          label,
          numClasses: 10,
          origin: `${files.images}#${i}`,
          epoch,
          index: index++,
        };
      }
    } finally {
      await images?.close().catch(() => {});
      for (const o of opened) await o.handle?.close().catch(() => {});
    }
  }, pipelineSeed(options.seed));
  const inputs =
    typeof input === 'string' ? path.resolve(input) : { images: path.resolve(input.images), labels: path.resolve(input.labels) };
  return describeSource(source, `mnist(${JSON.stringify({ input: inputs, split, seed, shuffle })})`, {
    fingerprint: async () => {
      const files = typeof input === 'string' ? await findMnistFiles(input, split) : input;
      return fingerprintFiles([files.images, files.labels]);
    },
  });
}

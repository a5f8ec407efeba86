import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { rng } from '../core/random.js';
import { check, type ImageSample } from '../core/types.js';
import { describeSource } from '../flow/identity.js';
import { fingerprintFiles, openRegular, readSmallText, RowFile, SourceError } from './files.js';
import { pipelineSeed, pullSource } from './pullSource.js';

/** CIFAR images are 32 x 32 x 3, stored channel-major (CHW: 1024 red, 1024 green, 1024 blue bytes). */
export const CIFAR_PIXELS = 3072;

/** The class names of CIFAR-10, by label (as in batches.meta.txt). */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  /** 'cifar10' (rows of 1 label byte + 3072) or 'cifar100' (coarse byte, fine byte + 3072). Default: 'cifar100' when the files are named train.bin/test.bin, else 'cifar10'. */
  readonly variant?: CifarVariant;
  /** Which files to read when given a folder: 'train' (data_batch_*.bin, or train.bin) or 'test' (test_batch.bin, or test.bin). Default 'train'. */
  readonly split?: 'train' | 'test';
  /** CIFAR-100 only: the 100 'fine' labels or the 20 'coarse' superclasses. Default 'fine'. */
  readonly labelMode?: 'fine' | 'coarse';
  /** Seed of the per-epoch order. Default 0. */
  readonly seed?: number;
  /** Shuffle all rows of all files each epoch (keyed by (seed, 'cifar', epoch)). Default true. */
  readonly shuffle?: boolean;
}

/** The files of a CIFAR dataset and how to read them. */
export interface CifarListing {
  readonly variant: CifarVariant;
  /** The folder the files are in (where the class-name files are looked for). */
  readonly dir: string;
  readonly files: readonly string[];
}

const SUBFOLDERS = ['cifar-10-batches-bin', 'cifar-100-binary'];

/**
 * Finds the binary batch files: `input` is a file, a list of files, or a folder (or a folder holding
 * cifar-10-batches-bin / cifar-100-binary, as the archives unpack). Rejects naming the path when
 * nothing matches.
 */
export async function listCifarFiles(
  input: string | readonly string[],
  options: Pick<CifarOptions, 'variant' | 'split'> = {},
): Promise<CifarListing> {
  const split = options.split ?? 'train';
  const guess = (files: readonly string[]): CifarVariant =>
    options.variant ?? (files.some((f) => /^(train|test)\.bin$/i.test(path.basename(f))) ? 'cifar100' : 'cifar10');
  if (typeof input !== 'string') return { variant: guess(input), dir: path.dirname(input[0] ?? '.'), files: [...input] };
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new Error(`cifar: '${input}' does not exist`);
  if (!info.isDirectory()) return { variant: guess([input]), dir: path.dirname(input), files: [input] };
  let dir = input;
  let names = await readdir(dir);
  for (const sub of SUBFOLDERS)
    if (!names.some((n) => n.toLowerCase().endsWith('.bin')) && names.includes(sub)) {
      dir = path.join(input, sub);
      names = await readdir(dir);
    }
  const has100 = names.some((n) => /^(train|test)\.bin$/i.test(n));
  const variant = options.variant ?? (has100 && !names.some((n) => /^(data|test)_batch/i.test(n)) ? 'cifar100' : 'cifar10');
  const pattern =
    variant === 'cifar100'
      ? split === 'train'
        ? /^train\.bin$/i
        : /^test\.bin$/i
      : split === 'train'
        ? /^data_batch_\d+\.bin$/i
        : /^test_batch\.bin$/i;
  const files = names
    .filter((n) => pattern.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((n) => path.join(dir, n));
  if (files.length === 0) throw new Error(`cifar: folder '${dir}' holds no ${variant} ${split} files (${pattern.source})`);
  return { variant, dir, files };
}

/**
 * Class names by label: from batches.meta.txt (CIFAR-10) or fine_label_names.txt /
 * coarse_label_names.txt (CIFAR-100) in `dir` when present; otherwise the CIFAR-10 names, or
 * '0'..'99' / '0'..'19' for CIFAR-100.
 */
export async function cifarClassNames(dir: string, variant: CifarVariant, labelMode: 'fine' | 'coarse' = 'fine'): Promise<string[]> {
  const file = variant === 'cifar10' ? 'batches.meta.txt' : `${labelMode}_label_names.txt`;
  const text = await readSmallText('cifar', path.join(dir, file));
  const count = variant === 'cifar10' ? 10 : labelMode === 'fine' ? 100 : 20;
  if (text !== undefined) {
    const names = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    if (names.length === count) return names;
  }
  return variant === 'cifar10' ? [...CIFAR10_CLASSES] : Array.from({ length: count }, (_, i) => String(i));
}

/** CHW bytes (3 planes of 32 x 32) at `row[at]` to HWC floats in [0, 1]. */
export function cifarPixels(row: Uint8Array, at: number, out = new Float32Array(CIFAR_PIXELS)): Float32Array {
  for (let p = 0; p < 1024; p++) {
    out[p * 3] = (row[at + p] as number) / 255;
    out[p * 3 + 1] = (row[at + 1024 + p] as number) / 255;
    out[p * 3 + 2] = (row[at + 2048 + p] as number) / 255;
  }
  return out;
}

/**
 * A cold source over CIFAR-10 or CIFAR-100 binary batches, emitting one `ImageSample` per row:
 * 32 x 32 x 3 HWC float32 in [0, 1] (converted from the files' CHW bytes), `label` the label byte
 * (CIFAR-100: the fine or coarse one, per `labelMode`), `numClasses` 10, 100 or 20, `origin`
 * `${file}#${row}`. Each subscription is one epoch over every row of every file, shuffled across
 * files with (seed, 'cifar', epoch) unless `shuffle` is false (then file by file, in order); it
 * completes after the last row. Rows are read by position with file handles (in ~1 MiB runs when
 * in order): memory does not grow with the files. Nothing is read before subscription.
 *
 * Errors (at subscription, naming the file): a file whose size is not a multiple of the row size
 * (3073 or 3074 bytes), a label byte out of [0, numClasses) (naming `${file}#${row}`), a missing file.
 * Options are checked at creation (RangeError naming the option).
 *
 * @example
 * const train$ = cifar('cifar-10-batches-bin', { seed: 1 });
 * const test$ = cifar('cifar-10-batches-bin', { split: 'test', shuffle: false });
 */
export function cifar(input: string | readonly string[], options: CifarOptions = {}): Observable<ImageSample> {
  const { variant: variantOption, split = 'train', labelMode = 'fine', seed = 0, shuffle = true } = options;
  const where = 'cifar';
  check(
    typeof input === 'string' ? input.length > 0 : Array.isArray(input) && input.length > 0,
    where,
    'input',
    'must be a path or a non-empty list of paths',
  );
  check(
    variantOption === undefined || variantOption === 'cifar10' || variantOption === 'cifar100',
    where,
    'variant',
    `must be 'cifar10' or 'cifar100', got '${String(variantOption)}'`,
  );
  check(split === 'train' || split === 'test', where, 'split', `must be 'train' or 'test', got '${String(split)}'`);
  check(labelMode === 'fine' || labelMode === 'coarse', where, 'labelMode', `must be 'fine' or 'coarse', got '${String(labelMode)}'`);
  check(Number.isFinite(seed), where, 'seed', `must be a finite number, got ${seed}`);
  const list = (): Promise<CifarListing> =>
    listCifarFiles(input, variantOption === undefined ? { split } : { split, variant: variantOption });
  const source = pullSource(async function* (epoch) {
    const { variant, files } = await list();
    const labelBytes = variant === 'cifar10' ? 1 : 2;
    const rowSize = labelBytes + CIFAR_PIXELS;
    const labelAt = variant === 'cifar10' || labelMode === 'coarse' ? 0 : 1;
    const numClasses = variant === 'cifar10' ? 10 : labelMode === 'fine' ? 100 : 20;
    const counts: number[] = [];
    for (const file of files) {
      const { handle, size } = await openRegular(where, file); // refuses a FIFO, socket or device by name
      await handle.close();
      if (size % rowSize !== 0 || size === 0)
        throw new SourceError(
          where,
          file,
          `size ${size} bytes is not a positive multiple of the ${variant} row size ${rowSize} (${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + ${CIFAR_PIXELS}): truncated, or not ${variant}?`,
        );
      counts.push(size / rowSize);
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const order = shuffle ? rng(seed, 'cifar', epoch).permutation(total) : undefined;
    const handles: RowFile[] = [];
    try {
      for (const [i, file] of files.entries()) handles.push(await RowFile.open(file, 0, rowSize, counts[i] as number, !shuffle));
      for (let index = 0; index < total; index++) {
        let row = order ? (order[index] as number) : index;
        let f = 0;
        while (row >= (counts[f] as number)) row -= counts[f++] as number;
        const bytes = await (handles[f] as RowFile).row(row);
        const origin = `${files[f] as string}#${row}`;
        const label = bytes[labelAt] as number;
        if (label >= numClasses)
          throw new SourceError(
            where,
            origin,
            `label byte ${label} is outside [0, ${numClasses}) for ${variant}${variant === 'cifar100' ? ` ${labelMode}` : ''} (wrong variant?)`,
          );
        yield { image: cifarPixels(bytes, labelBytes), height: 32, width: 32, channels: 3, label, numClasses, origin, epoch, index };
      }
    } finally {
      for (const h of handles) await h.close().catch(() => {});
    }
  }, pipelineSeed(options.seed));
  const inputs = typeof input === 'string' ? path.resolve(input) : input.map((f) => path.resolve(f));
  return describeSource(
    source,
    `cifar(${JSON.stringify({ input: inputs, variant: variantOption ?? null, split, labelMode, seed, shuffle })})`,
    {
      fingerprint: async () => fingerprintFiles((await list()).files),
    },
  );
}

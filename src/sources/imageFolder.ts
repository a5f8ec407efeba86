import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { hashKeys, rng } from '../core/random.js';
import { check, dataError, type DataError, type EncodedSample } from '../core/types.js';
import { fileKind, systemRoot } from './files.js';
import { describeSource, keyOf } from '../flow/identity.js';
import { pipelineSeed, pullSource } from './pullSource.js';

/** Extensions read as images, lower case; matched case-insensitively. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff'];

export interface ImageFolderOptions {
  /** Seed of the per-epoch file order and of the split. Default 0. */
  readonly seed?: number;
  /** Shuffle the file list each epoch (the order of epoch e is keyed by (seed, e)). Default true. */
  readonly shuffle?: boolean;
  /** Fraction of each class held out for validation, in [0, 1). Default 0 (no split). */
  readonly validationSplit?: number;
  /** Which side of the split to read. Default 'training'. */
  readonly subset?: 'training' | 'validation';
}

export interface FolderListing {
  /** Class names, sorted; a class's label is its index here. */
  readonly classes: readonly string[];
  readonly files: ReadonlyArray<{ readonly path: string; readonly label: number }>;
  /** Entries left out, each with why: symbolic links leading outside the root, loops, broken links, FIFOs, sockets, devices. */
  readonly skipped: readonly DataError[];
}

/** Whether `real` is `realRoot` or inside it. */
const within = (realRoot: string, real: string): boolean =>
  real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : `${realRoot}${path.sep}`);

/**
 * What an entry of the folder is once symbolic links are resolved: a folder or regular file inside
 * the root, or a reason to skip it. Resolving (realpath) catches loops (ELOOP) and links that lead
 * outside the root, which are never followed.
 */
async function resolveEntry(full: string, realRoot: string): Promise<{ kind: 'dir' | 'file' } | { skip: string }> {
  let real: string;
  try {
    real = await realpath(full);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return {
      skip:
        code === 'ELOOP'
          ? 'symbolic link loop'
          : code === 'ENOENT'
            ? 'broken symbolic link'
            : `cannot be resolved (${code ?? String(error)})`,
    };
  }
  if (!within(realRoot, real)) return { skip: `symbolic link leading outside the root (to '${real}')` };
  if (systemRoot(real)) return { skip: `under ${systemRoot(real) ?? ''} (a system file)` };
  const info = await stat(real).catch(() => undefined);
  if (!info) return { skip: 'vanished while listing' };
  if (info.isDirectory()) return { kind: 'dir' };
  if (info.isFile()) return { kind: 'file' };
  return { skip: `${fileKind(info)}, not a regular file` };
}

/**
 * Lists an image folder laid out like Stanford Dogs: `root/<class>/<image>`, one folder per class,
 * class index by sorted folder name, image extensions case-insensitive, hidden entries ignored.
 * The root is a boundary: symbolic links are resolved, and followed only when they lead to a
 * folder or file inside the root (a symlinked class folder, a linked image); links leading outside
 * it, loops, broken links, FIFOs, sockets and devices are left out and listed in `skipped` with the
 * reason. Rejects with an error naming the root or folder when it is missing, not a folder, holds
 * no class folders, or a class folder holds no images (saying what was skipped there).
 */
export async function listImageFolder(root: string): Promise<FolderListing> {
  const info = await stat(root).catch(() => undefined);
  if (!info) throw new Error(`imageFolder: root '${root}' does not exist`);
  if (!info.isDirectory()) throw new Error(`imageFolder: root '${root}' is not a folder`);
  const realRoot = await realpath(root);
  if (systemRoot(realRoot))
    throw new Error(`imageFolder: root '${root}' is under ${systemRoot(realRoot) ?? ''} (a system folder, not data)`);
  const skipped: DataError[] = [];
  const entries = await readdir(root, { withFileTypes: true });
  const classes: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) classes.push(e.name);
    else if (e.isSymbolicLink()) {
      const r = await resolveEntry(path.join(root, e.name), realRoot);
      if ('skip' in r) skipped.push(dataError(path.join(root, e.name), r.skip));
      else if (r.kind === 'dir') classes.push(e.name);
    }
  }
  classes.sort();
  if (classes.length === 0)
    throw new Error(`imageFolder: root '${root}' holds no class folders (expected root/<class>/<image>)${skipNote(skipped)}`);
  const files: Array<{ path: string; label: number }> = [];
  for (const [label, name] of classes.entries()) {
    const dir = path.join(root, name);
    const images: string[] = [];
    const before = skipped.length;
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || !IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()) || e.isDirectory()) continue;
      if (e.isFile()) {
        images.push(e.name);
        continue;
      }
      const r = await resolveEntry(path.join(dir, e.name), realRoot);
      if ('skip' in r) skipped.push(dataError(path.join(dir, e.name), r.skip));
      else if (r.kind === 'file') images.push(e.name);
    }
    images.sort();
    if (images.length === 0)
      throw new Error(
        `imageFolder: class folder '${dir}' holds no images (${IMAGE_EXTENSIONS.join(' ')})${skipNote(skipped.slice(before))}`,
      );
    for (const file of images) files.push({ path: path.join(dir, file), label });
  }
  return { classes, files, skipped };
}

/** ': skipped 2 (symbolic link loop: 'a.jpg'; ...)' when entries were skipped, for an error message. */
function skipNote(skipped: readonly DataError[]): string {
  if (skipped.length === 0) return '';
  return `; skipped ${skipped.length}: ${skipped
    .slice(0, 3)
    .map((s) => `'${s.origin}' (${s.reason})`)
    .join(', ')}${skipped.length > 3 ? ', ...' : ''}`;
}

/**
 * Splits each class by a seeded hash of the file's path relative to the root: stable across runs
 * and listings, exact per class (round(fraction * n) held out), stratified.
 */
export function splitListing(
  listing: FolderListing,
  root: string,
  fraction: number,
  seed: number,
  subset: 'training' | 'validation',
): FolderListing['files'] {
  const byClass = new Map<number, Array<{ path: string; label: number; key: number }>>();
  for (const f of listing.files) {
    const list = byClass.get(f.label) ?? [];
    list.push({ ...f, key: hashKeys([seed, 'split', path.relative(root, f.path)]) });
    byClass.set(f.label, list);
  }
  const out: Array<{ path: string; label: number }> = [];
  for (const list of byClass.values()) {
    list.sort((a, b) => a.key - b.key || (a.path < b.path ? -1 : 1));
    const held = Math.round(fraction * list.length);
    for (const f of subset === 'validation' ? list.slice(0, held) : list.slice(held)) out.push({ path: f.path, label: f.label });
  }
  return out.sort((a, b) => a.label - b.label || (a.path < b.path ? -1 : 1));
}

/**
 * A cold source of the images under `root` (Stanford Dogs layout), as `EncodedSample`s carrying
 * the file path: nothing is read before subscription, and each subscription is one epoch with its
 * own seeded order. Errors in the layout arrive on the error channel at subscription.
 *
 * @example
 * const train$ = imageFolder('Images/', { seed: 1, validationSplit: 0.2 });
 * const val$ = imageFolder('Images/', { seed: 1, validationSplit: 0.2, subset: 'validation', shuffle: false });
 */
export function imageFolder(root: string, options: ImageFolderOptions = {}): Observable<EncodedSample> {
  const { seed = 0, shuffle = true, validationSplit = 0, subset = 'training' } = options;
  check(typeof root === 'string' && root.length > 0, 'imageFolder', 'root', 'must be a non-empty path');
  check(Number.isFinite(seed), 'imageFolder', 'seed', `must be a finite number, got ${seed}`);
  check(validationSplit >= 0 && validationSplit < 1, 'imageFolder', 'validationSplit', `must be in [0, 1), got ${validationSplit}`);
  check(
    subset === 'training' || subset === 'validation',
    'imageFolder',
    'subset',
    `must be 'training' or 'validation', got '${String(subset)}'`,
  );
  const source = pullSource(async function* (epoch) {
    const listing = await listImageFolder(root);
    const files = [...(validationSplit > 0 ? splitListing(listing, root, validationSplit, seed, subset) : listing.files)];
    if (shuffle) rng(seed, 'imageFolder', epoch).shuffle(files);
    const numClasses = listing.classes.length;
    for (const [index, f] of files.entries()) yield { input: f.path, origin: f.path, label: f.label, numClasses, epoch, index };
  }, pipelineSeed(options.seed));
  return describeSource(source, `imageFolder(${JSON.stringify({ root: path.resolve(root), seed, shuffle, validationSplit, subset })})`, {
    fingerprint: () => fingerprintFolder(root),
  });
}

/** Names, sizes and modification times of every listed file: changes when the data changes. */
async function fingerprintFolder(root: string): Promise<string> {
  const { files } = await listImageFolder(root);
  const parts = await Promise.all(
    files.map(async (f) => {
      const s = await stat(f.path);
      return `${path.relative(root, f.path)}:${f.label}:${s.size}:${Math.trunc(s.mtimeMs)}`;
    }),
  );
  return keyOf(...parts);
}

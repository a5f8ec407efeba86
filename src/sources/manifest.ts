import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { CsvParser, DEFAULT_CSV_LIMITS, type CsvRecord } from '../core/csv.js';
import { rng } from '../core/random.js';
import { check, type EncodedSample } from '../core/types.js';
import { describeSource } from '../flow/identity.js';
import { fingerprintFiles, openRegular, SourceError } from './files.js';
import { pipelineSeed, pullSource } from './pullSource.js';
import { errorMessage } from '../core/idioms.js';
import { boundedLines } from './lines.js';

export interface ManifestOptions {
  /** Folder the paths are relative to. Default: the manifest's own folder. */
  readonly root?: string;
  /** 'csv' or 'jsonl' (one JSON object a line). Default: 'jsonl' for .jsonl / .ndjson / .json names, else 'csv'. */
  readonly format?: 'csv' | 'jsonl';
  /** Class names by index: name labels map to their index here, and it sets numClasses. Default: see `readManifest`. */
  readonly classes?: readonly string[];
  /** Seed of the per-epoch order. Default 0. */
  readonly seed?: number;
  /** Shuffle the rows each epoch (keyed by (seed, 'manifest', epoch)). Default true. */
  readonly shuffle?: boolean;
  /**
   * Most classes an integer label may imply (label + 1) when `classes` is not given, and most class
   * names: a label of 2,000,000,000 would otherwise size a list of two billion names. Default
   * DEFAULT_MAX_CLASSES (100,000; ImageNet-21k has 21,841). With `classes`, labels are bounded by it.
   */
  readonly maxClasses?: number;
  /** Most rows read (each is held in memory). Default DEFAULT_MAX_ROWS (10,000,000). */
  readonly maxRows?: number;
  /**
   * Rows of one split, by the manifest's split column (CSV header or JSON key 'split' or 'subset'):
   * 'test' keeps the rows whose split is 'test' (any case), 'train' every other row. Without a
   * split column 'train' keeps every row and 'test' none (an error). Default: every row.
   */
  readonly split?: 'train' | 'test';
}

/** Most classes a manifest may imply without `classes`: 100,000. */
export const DEFAULT_MAX_CLASSES = 100_000;
/** Most rows a manifest may hold: 10,000,000 (about 1.5 GB of paths held; ImageNet-1k has 1.28 M). */
export const DEFAULT_MAX_ROWS = 10_000_000;
/** Longest JSON line, in characters (a CSV record has the same cap, DEFAULT_CSV_LIMITS). */
export const MAX_LINE_CHARS = DEFAULT_CSV_LIMITS.maxRecordChars;

export interface ManifestRow {
  /** Resolved path, inside the root. */
  readonly path: string;
  readonly label: number;
  /** Line (from 1) of the row in the manifest. */
  readonly line: number;
}

export interface ManifestListing {
  /** Class names by label. */
  readonly classes: readonly string[];
  readonly rows: readonly ManifestRow[];
  /** The distinct values of the split column (lower case, sorted), when the manifest has one. */
  readonly splits?: readonly string[];
}

const PATH_HEADERS = ['path', 'file', 'filename', 'file_name', 'image', 'filepath'];
const LABEL_HEADERS = ['label', 'class', 'class_name', 'category', 'target'];
const SPLIT_HEADERS = ['split', 'subset'];

type RawRow = { line: number; path: unknown; label: unknown; split?: unknown };

/** The manifest format by file name: 'jsonl' for .jsonl / .ndjson / .json, else 'csv'. */
export function manifestFormat(file: string): 'csv' | 'jsonl' {
  return /\.(jsonl|ndjson|json)$/i.test(file) ? 'jsonl' : 'csv';
}

/**
 * Checks that `relative` stays inside `root` and resolves it; undefined when it is absolute or
 * leaves the root (through '..').
 */
export function resolveInside(root: string, relative: string): string | undefined {
  if (relative.length === 0 || path.isAbsolute(relative) || path.win32.isAbsolute(relative)) return undefined;
  const base = path.resolve(root);
  const resolved = path.resolve(base, relative);
  const rel = path.relative(base, resolved);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  return resolved;
}

async function* csvRows(file: string): AsyncGenerator<RawRow> {
  const parser = new CsvParser();
  let columns: [number, number] | undefined;
  let splitColumn = -1;
  let first = true;
  const fail = (line: number, reason: string): never => {
    throw new SourceError('manifest', `${file}:${line}`, reason);
  };
  function* take(records: CsvRecord[]): Generator<RawRow> {
    for (const r of records) {
      if (first) {
        first = false;
        const names = r.fields.map((f) => f.trim().toLowerCase());
        const p = names.findIndex((n) => PATH_HEADERS.includes(n));
        const l = names.findIndex((n) => LABEL_HEADERS.includes(n));
        if (p >= 0 && l >= 0) {
          columns = [p, l];
          splitColumn = names.findIndex((n) => SPLIT_HEADERS.includes(n));
          continue;
        }
        columns = [0, 1];
      }
      const [p, l] = columns as [number, number];
      if (r.fields.length <= Math.max(p, l))
        fail(r.line, `has ${r.fields.length} field${r.fields.length === 1 ? '' : 's'}, expected a path and a label`);
      const row: RawRow = { line: r.line, path: r.fields[p], label: (r.fields[l] as string).trim() };
      yield splitColumn < 0 ? row : { ...row, split: r.fields[splitColumn] ?? '' };
    }
  }
  const stream = (await openRegular('manifest', file)).handle.createReadStream({ encoding: 'utf8' });
  try {
    for await (const chunk of stream) yield* take(parser.push(chunk as string));
    yield* take(parser.end());
  } catch (error) {
    if (error instanceof SourceError) throw error;
    const m = /^CSV line (\d+): (.*)$/.exec(error instanceof Error ? error.message : '');
    if (m) fail(Number(m[1]), m[2] as string);
    throw error;
  } finally {
    stream.destroy();
  }
}

async function* jsonlRows(file: string): AsyncGenerator<RawRow> {
  const stream = (await openRegular('manifest', file)).handle.createReadStream({ encoding: 'utf8' });
  const fail = (line: number, reason: string): never => {
    throw new SourceError('manifest', `${file}:${line}`, reason);
  };
  let line = 0;
  try {
    for await (const text of boundedLines(stream as AsyncIterable<string>, MAX_LINE_CHARS, fail)) {
      line++;
      const t = line === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
      if (t.length === 0) continue;
      let value: unknown;
      try {
        value = JSON.parse(t);
      } catch (error) {
        throw new SourceError('manifest', `${file}:${line}`, `not JSON (${errorMessage(error)})`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new SourceError('manifest', `${file}:${line}`, 'is not a JSON object with "path" and "label"');
      const o = value as Record<string, unknown>;
      const pk = PATH_HEADERS.find((k) => k in o);
      const lk = LABEL_HEADERS.find((k) => k in o);
      const sk = SPLIT_HEADERS.find((k) => k in o);
      const row: RawRow = { line, path: pk === undefined ? undefined : o[pk], label: lk === undefined ? undefined : o[lk] };
      yield sk === undefined ? row : { ...row, split: o[sk] };
    }
  } finally {
    stream.destroy();
  }
}

/** A folder of the rows: its resolved path (undefined when missing) and which of its entries are symbolic links. */
interface Folder {
  readonly real: string | undefined;
  readonly links: ReadonlySet<string>;
}

/**
 * The resolved path of `file`, at the cost of one realpath and one readdir per folder (cached in
 * `folders`) and a realpath only for files that are links: a realpath per row made a 60,000-row
 * manifest ten times slower to read. Rejects like realpath (ENOENT, ELOOP).
 */
async function resolveLinks(file: string, folders: Map<string, Promise<Folder>>): Promise<string> {
  const dir = path.dirname(file);
  let folder = folders.get(dir);
  if (!folder) {
    folder = (async (): Promise<Folder> => {
      const real = await realpath(dir).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'ELOOP') throw error;
        return undefined;
      });
      const entries = real === undefined ? [] : await readdir(dir, { withFileTypes: true }).catch(() => []);
      return { real, links: new Set(entries.filter((e) => e.isSymbolicLink()).map((e) => e.name)) };
    })();
    folders.set(dir, folder);
  }
  const { real, links } = await folder;
  if (real === undefined) throw Object.assign(new Error(`'${dir}' does not exist`), { code: 'ENOENT' });
  return links.has(path.basename(file)) ? realpath(file) : path.join(real, path.basename(file));
}

/**
 * Reads a manifest of (path, label) rows, streaming it line by line.
 *
 * CSV: a first row naming the columns (path/file/filename/image and label/class, any case, any
 * order, other columns ignored) is a header; otherwise the columns are path, label. Quoted fields
 * (commas, quotes, line breaks inside) are read per RFC 4180. JSON lines: objects with "path" (or
 * "file", "filename", "image") and "label" (or "class"); blank lines are ignored.
 *
 * Labels: when every label is an integer (a JSON number or a string of digits), it is the class
 * index, and the classes are `options.classes` or '0'..'max'; otherwise every label is a class
 * name, mapped to its index in `options.classes`, or in the sorted list of the names present.
 * Splits: a 'split' (or 'subset') column or key gives each row's split; `listing.splits` lists its
 * values, and `options.split` keeps the 'test' rows or every other row ('train'), the classes
 * still counted over every row.
 * Rejects with a `SourceError` naming `${file}:${line}` for a path that is absolute or leaves the
 * root (also through a symbolic link: paths are resolved), a symbolic link loop, a NUL in a path,
 * a missing path or label, a negative or out-of-range index, a name not in `options.classes`,
 * malformed CSV or JSON. Bounded before anything is sized or buffered: an index label at or over
 * `classes.length` (or `maxClasses` without classes), more than `maxClasses` class names, more
 * than `maxRows` rows, a CSV field, record or field count over DEFAULT_CSV_LIMITS, a JSON line
 * over MAX_LINE_CHARS: each refused naming its line.
 */
export async function readManifest(
  file: string,
  options: Pick<ManifestOptions, 'root' | 'format' | 'classes' | 'maxClasses' | 'maxRows' | 'split'> = {},
): Promise<ManifestListing> {
  const { splitOf, ...all } = await readAllRows(file, options);
  if (options.split === undefined) return all;
  if (options.split === 'test' && !(all.splits ?? []).includes('test'))
    throw new SourceError(
      'manifest',
      file,
      `has no test rows (${all.splits ? `split values: ${all.splits.join(', ')}` : "no 'split' column"})`,
    );
  // Classes come from every row, so a split's labels index the same class list as the others'.
  const keep = all.rows.filter((_, i) => (splitOf?.[i] === 'test') === (options.split === 'test'));
  if (keep.length === 0) throw new SourceError('manifest', file, `has no ${options.split} rows`);
  return { ...all, rows: keep };
}

/** Every row, with each row's split value (lower case; '' when blank) when the manifest has a split column. */
async function readAllRows(
  file: string,
  options: Pick<ManifestOptions, 'root' | 'format' | 'classes' | 'maxClasses' | 'maxRows'>,
): Promise<ManifestListing & { splitOf?: readonly string[] }> {
  const root = options.root ?? path.dirname(file);
  const maxClasses = options.maxClasses ?? DEFAULT_MAX_CLASSES;
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  // An index label is checked as it is read, so no list is ever sized from an unchecked one.
  const labelBound = options.classes ? options.classes.length : maxClasses;
  const bound = options.classes
    ? `outside [0, ${labelBound}) (options.classes names ${labelBound})`
    : `over the limit of ${maxClasses} classes (maxClasses); give the class names to raise it`;
  const format = options.format ?? manifestFormat(file);
  const raw: Array<{ path: string; label: string | number; line: number }> = [];
  const splitOf: string[] = [];
  let hasSplit = false;
  const fail = (line: number, reason: string): never => {
    throw new SourceError('manifest', `${file}:${line}`, reason);
  };
  let allIndices = true;
  // The root is a boundary for symbolic links too: every path is resolved and must stay inside
  // the root's own resolved path.
  // (A root that does not exist holds no links: its files are named missing when decoded.)
  const realRoot = await realpath(root).catch(() => path.resolve(root));
  const folders = new Map<string, Promise<Folder>>();
  const names = new Set<string>();
  for await (const r of format === 'csv' ? csvRows(file) : jsonlRows(file)) {
    if (raw.length >= maxRows) fail(r.line, `is past the limit of ${maxRows} rows (maxRows); refused`);
    if (typeof r.path !== 'string' || r.path.length === 0) fail(r.line, 'has no path');
    const p = r.path as string;
    if (p.includes('\0')) fail(r.line, `path '${p}' contains a NUL character`);
    const resolved = resolveInside(root, p) ?? fail(r.line, `path '${p}' is absolute or leaves the root '${root}'`);
    const real = await resolveLinks(resolved, folders).catch((error: unknown) => {
      const code = (error as { code?: string }).code;
      if (code === 'ELOOP') fail(r.line, `path '${p}' is a symbolic link loop`);
      return undefined; // missing: the decoder names it when it is read
    });
    if (real !== undefined && resolveInside(realRoot, path.relative(realRoot, real)) === undefined)
      fail(r.line, `path '${p}' leads outside the root '${root}' (through a symbolic link, to '${real}'): refused`);
    let label: string | number;
    if (typeof r.label === 'number') {
      if (!Number.isInteger(r.label)) fail(r.line, `label ${r.label} is not an integer index`);
      if (r.label >= labelBound) fail(r.line, `label ${r.label} is ${bound}`);
      label = r.label;
    } else if (typeof r.label === 'string' && r.label.trim().length > 0) {
      label = r.label.trim();
      if (!/^\d+$/.test(label)) {
        allIndices = false;
        names.add(label);
        if (names.size > maxClasses) fail(r.line, `names more than ${maxClasses} classes (maxClasses); refused`);
      } else if (allIndices && Number(label) >= labelBound) fail(r.line, `label ${label} is ${bound}`);
    } else label = fail(r.line, 'has no label');
    raw.push({ path: resolved, label, line: r.line });
    if ('split' in r) hasSplit = true;
    splitOf.push(r.split === undefined || r.split === null ? '' : String(r.split).trim().toLowerCase());
  }
  if (raw.length === 0) throw new SourceError('manifest', file, 'holds no rows');
  const given = options.classes;
  if (allIndices) {
    const labels = raw.map((r) => Number(r.label));
    const max = labels.reduce((a, b) => Math.max(a, b), -1);
    const classes = given ? [...given] : Array.from({ length: max + 1 }, (_, i) => String(i));
    const rows = raw.map((r, i) => {
      const label = labels[i] as number;
      if (label < 0 || label >= classes.length) fail(r.line, `label ${label} is outside [0, ${classes.length})`);
      return { path: r.path, label, line: r.line };
    });
    return { classes, rows, ...splitInfo(hasSplit, splitOf) };
  }
  for (const r of raw) if (typeof r.label === 'number') fail(r.line, `label ${r.label} is a number but other rows name classes`);
  const classes = given ? [...given] : [...new Set(raw.map((r) => r.label as string))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const rows = raw.map((r) => ({
    path: r.path,
    label: index.get(r.label as string) ?? fail(r.line, `class '${r.label}' is not among options.classes`),
    line: r.line,
  }));
  return { classes, rows, ...splitInfo(hasSplit, splitOf) };
}

const splitInfo = (has: boolean, splitOf: readonly string[]): { splits?: readonly string[]; splitOf?: readonly string[] } =>
  has ? { splits: [...new Set(splitOf)].sort(), splitOf } : {};

/**
 * A cold source over the images a CSV or JSON-lines manifest lists (see `readManifest`), emitting
 * one `EncodedSample` per row with `input` and `origin` the resolved path (inside the root),
 * `numClasses` the number of classes. Each subscription is one epoch: the manifest is read then
 * (nothing before), its rows shuffled with (seed, 'manifest', epoch) unless `shuffle` is false
 * (then in file order); it completes after the last row. A bad manifest errors at subscription,
 * naming the line. Options are checked at creation (RangeError naming the option).
 *
 * @example
 * const train$ = manifest('data/train.csv', { root: 'data/images', seed: 1 });
 */
export function manifest(file: string, options: ManifestOptions = {}): Observable<EncodedSample> {
  const { seed = 0, shuffle = true, format, classes } = options;
  const where = 'manifest';
  check(typeof file === 'string' && file.length > 0, where, 'file', 'must be a non-empty path');
  check(
    format === undefined || format === 'csv' || format === 'jsonl',
    where,
    'format',
    `must be 'csv' or 'jsonl', got '${String(format)}'`,
  );
  check(
    classes === undefined || (Array.isArray(classes) && classes.length > 0 && new Set(classes).size === classes.length),
    where,
    'classes',
    'must be a non-empty list of distinct names',
  );
  check(
    options.root === undefined || (typeof options.root === 'string' && options.root.length > 0),
    where,
    'root',
    'must be a non-empty path',
  );
  check(Number.isFinite(seed), where, 'seed', `must be a finite number, got ${seed}`);
  for (const key of ['maxClasses', 'maxRows'] as const) {
    const v = options[key];
    check(v === undefined || (Number.isSafeInteger(v) && v >= 1), where, key, `must be a positive integer, got ${String(v)}`);
  }
  check(
    options.split === undefined || options.split === 'train' || options.split === 'test',
    where,
    'split',
    `must be 'train' or 'test', got '${String(options.split)}'`,
  );
  const source = pullSource(async function* (epoch) {
    const listing = await readManifest(file, options);
    const rows = [...listing.rows];
    if (shuffle) rng(seed, 'manifest', epoch).shuffle(rows);
    const numClasses = listing.classes.length;
    for (const [index, r] of rows.entries()) yield { input: r.path, origin: r.path, label: r.label, numClasses, epoch, index };
  }, pipelineSeed(options.seed));
  const root = path.resolve(options.root ?? path.dirname(file));
  return describeSource(
    source,
    `manifest(${JSON.stringify({ file: path.resolve(file), root, format: format ?? null, classes: classes ?? null, seed, shuffle, ...(options.split === undefined ? {} : { split: options.split }) })})`,
    {
      // The manifest itself and every file it lists, with the labels it gives them.
      fingerprint: async () => {
        const listing = await readManifest(file, options);
        return fingerprintFiles(
          [file, ...listing.rows.map((r) => r.path)],
          [...listing.classes, ...listing.rows.map((r) => String(r.label))],
        );
      },
    },
  );
}

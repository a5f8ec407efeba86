import { readdir, stat } from 'node:fs/promises';
import { DEFAULT_MAX_RECORD_BYTES } from '../core/limits.js';
import path from 'node:path';
import type { Observable } from 'rxjs';
import { parseExample, ProtobufError } from '../core/protobuf.js';
import { rng } from '../core/random.js';
import { TFRECORD_FOOTER_BYTES, TFRECORD_HEADER_BYTES, checkTfrecordData, readTfrecordHeader } from '../core/tfrecordFrame.js';
import { check, type DataError, type EncodedSample } from '../core/types.js';
import { describeSource } from '../flow/identity.js';
import { ChunkReader, fingerprintFiles, DEFAULT_READ_SIZE, readSmallText, SourceError, type OnError } from './files.js';
import { pipelineSeed, pullSource } from './pullSource.js';

export interface TfrecordOptions {
  /** Number of classes; labels must lie in [0, numClasses). Required. */
  readonly numClasses: number;
  /** Feature holding the encoded image (a bytes_list of one value). Default 'image' (tensorflow_datasets). */
  readonly imageKey?: string;
  /** Feature holding the class index (an int64_list of one value). Default 'label' (tensorflow_datasets). */
  readonly labelKey?: string;
  /** Seed of the per-epoch shard order. Default 0. */
  readonly seed?: number;
  /** Shuffle the shard order each epoch (epoch e's order is keyed by (seed, 'tfrecord', e)). Default true. */
  readonly shuffle?: boolean;
  /** Shards open and read round-robin at once (tf.data interleave's cycle_length). Default min(4, shards). */
  readonly cycleLength?: number;
  /** A bad record: 'fail' ends the epoch with a `SourceError`; 'skip' drops it and calls `onSkip`. Default 'fail'. */
  readonly onError?: OnError;
  /** Called once per skipped record, and once for the unread rest of a shard after a framing error (a `SkipLog`'s `add` counts them). */
  readonly onSkip?: (error: DataError) => void;
  /** Bytes read per read call, per open shard. Default 1 MiB. */
  readonly readSize?: number;
  /** Longest record read, in bytes; a longer one is a framing error (nothing of it is read). Default DEFAULT_MAX_RECORD_BYTES (64 MiB). */
  readonly maxRecordBytes?: number;
}

/** One framed record of a shard: its byte offset and its data (a view valid until the next record is read). */
export type TfrecordRead =
  | { readonly ok: true; readonly offset: number; readonly data: Uint8Array }
  | {
      readonly ok: false;
      readonly offset: number;
      readonly reason: string;
      /** The rest of the shard cannot be trusted. */ readonly fatal: boolean;
    };

/**
 * Reads the next record of a shard through `reader` (positioned at a record boundary): undefined at
 * a clean end of file. A length-CRC mismatch or a truncated file is `fatal` (framing is lost); a
 * data-CRC mismatch is not (the length was verified, so the next record is found).
 */
export async function readTfrecord(reader: ChunkReader, maxRecordBytes = DEFAULT_MAX_RECORD_BYTES): Promise<TfrecordRead | undefined> {
  const offset = reader.offset;
  if (reader.remaining <= 0) return undefined;
  const got = await reader.fill(TFRECORD_HEADER_BYTES);
  if (got === 0) return undefined;
  if (got < TFRECORD_HEADER_BYTES)
    return {
      ok: false,
      offset,
      reason: `truncated file: ${got} bytes at the end, less than a ${TFRECORD_HEADER_BYTES}-byte record header`,
      fatal: true,
    };
  const header = readTfrecordHeader(reader.bytes, reader.start);
  if (!header.ok)
    return {
      ok: false,
      offset,
      reason: `${header.reason}; the rest of the shard (${reader.remaining} bytes) cannot be framed`,
      fatal: true,
    };
  // Checked before anything is allocated or read: a header may declare any length up to 2^53.
  if (header.length > maxRecordBytes)
    return {
      ok: false,
      offset,
      reason: `record length ${header.length} bytes is over the limit of ${maxRecordBytes} (maxRecordBytes); the rest of the shard is not read`,
      fatal: true,
    };
  const total = TFRECORD_HEADER_BYTES + header.length + TFRECORD_FOOTER_BYTES;
  if (total > reader.remaining)
    return {
      ok: false,
      offset,
      reason: `truncated file: a record of ${header.length} bytes needs ${total} bytes, ${reader.remaining} are left`,
      fatal: true,
    };
  if ((await reader.fill(total)) < total)
    return { ok: false, offset, reason: `truncated file: ended while reading a record of ${header.length} bytes`, fatal: true };
  const start = reader.start + TFRECORD_HEADER_BYTES;
  const end = start + header.length;
  const bad = checkTfrecordData(reader.bytes, start, end);
  const data = reader.bytes.subarray(start, end);
  reader.consume(total);
  return bad ? { ok: false, offset, reason: bad, fatal: false } : { ok: true, offset, data };
}

/**
 * Every record of one TFRecord file in order, each as `{ offset, data }` with `data` a copy. Throws
 * a `SourceError` naming the file and byte offset at the first bad record. Streams in chunks of
 * `readSize` bytes.
 */
export async function* tfrecordRecords(
  file: string,
  readSize = DEFAULT_READ_SIZE,
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
): AsyncGenerator<{ offset: number; data: Uint8Array }> {
  const reader = await ChunkReader.open(file, readSize, 'tfrecord');
  try {
    for (;;) {
      const r = await readTfrecord(reader, maxRecordBytes);
      if (!r) return;
      if (!r.ok) throw new SourceError('tfrecord', `${file}@${r.offset}`, r.reason);
      yield { offset: r.offset, data: r.data.slice() };
    }
  } finally {
    await reader.close();
  }
}

/** Whether a file name looks like a TFRecord shard: contains '.tfrecord' or ends in '.tfrec' (case-insensitive). */
export function isTfrecordName(name: string): boolean {
  const n = name.toLowerCase();
  return n.includes('.tfrecord') || n.endsWith('.tfrec');
}

/**
 * The shard files of `input`, in sorted order: the files themselves when given a list or a file,
 * or the files of a folder whose name looks like a shard (`isTfrecordName`, e.g. tensorflow_datasets'
 * `mnist-train.tfrecord-00000-of-00001`). Rejects naming the path when it is missing or holds none.
 */
export async function listTfrecordShards(input: string | readonly string[]): Promise<string[]> {
  if (typeof input !== 'string') return [...input];
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new Error(`tfrecord: '${input}' does not exist`);
  if (!info.isDirectory()) return [input];
  const entries = await readdir(input, { withFileTypes: true });
  // Not only regular files: a FIFO or device named like a shard is listed, so that opening it
  // refuses it by name instead of dropping it silently.
  const shards = entries
    .filter((e) => !e.isDirectory() && !e.name.startsWith('.') && isTfrecordName(e.name))
    .map((e) => path.join(input, e.name))
    .sort();
  if (shards.length === 0) throw new Error(`tfrecord: folder '${input}' holds no TFRecord shards (names containing '.tfrecord')`);
  return shards;
}

/**
 * The split a shard's name gives, as tensorflow_datasets names shards (`<name>-<split>.tfrecord-00000-of-00004`)
 * or as hand-made shard sets do (`test-00000.tfrecord`, `data_test.tfrec`): 'test' when a 'test'
 * word stands in the name before its TFRecord extension, undefined otherwise.
 */
export function tfrecordShardSplit(file: string): 'test' | undefined {
  const name = path.basename(file).toLowerCase();
  const stem = name.slice(0, name.includes('.tfrecord') ? name.indexOf('.tfrecord') : name.lastIndexOf('.tfrec'));
  return /(^|[-_.])test([-_.]|\d|$)/.test(stem) ? 'test' : undefined;
}

/**
 * Class names written by tensorflow_datasets beside the shards (`<labelKey>.labels.txt`, one name a
 * line), or undefined when there is no such file. `input` is a shard folder or a shard.
 */
export async function tfrecordClassNames(input: string, labelKey = 'label'): Promise<string[] | undefined> {
  const info = await stat(input).catch(() => undefined);
  const dir = info?.isDirectory() ? input : path.dirname(input);
  const text = await readSmallText('tfrecord', path.join(dir, `${labelKey}.labels.txt`));
  if (text === undefined) return undefined;
  const names = text.split(/\r?\n/).map((l) => l.trim());
  while (names.length > 0 && names[names.length - 1] === '') names.pop();
  return names;
}

/**
 * A cold source over TFRecord shards of `tf.train.Example`s (as tensorflow_datasets writes them),
 * emitting one `EncodedSample` per record: `input` is the encoded image bytes (a copy), `label`
 * the int64 label, `origin` is `${shard}@${byteOffset}` (the offset of the record's header).
 *
 * `shards` is a shard, a list of shards, or a folder of shards (see `listTfrecordShards`). Each
 * subscription is one epoch: the shard list is (by default) shuffled with (seed, 'tfrecord', epoch);
 * the first `cycleLength` shards are opened and read one record from each in turn, like tf.data's
 * `interleave(cycle_length, block_length=1)`; when a shard ends the next shard of the epoch's order
 * takes its place in the cycle (and is read at once). The epoch completes when every shard is read.
 * Skipped records take no turn, so the good records come in the same order as if the bad ones were
 * absent. Shards are read in chunks of `readSize` with file handles: memory is about
 * cycleLength * max(readSize, largest record), whatever the shard sizes. Nothing is read before
 * subscription. Both CRCs of every record are checked.
 *
 * Errors (a `SourceError` naming shard and byte offset): a length-CRC or data-CRC mismatch, a
 * truncated file, an Example that does not parse, a missing image or label feature, a label out of
 * [0, numClasses). With `onError: 'skip'` each is skipped (taking no credit) and reported to
 * `onSkip`; after a framing error (length CRC, truncation) the rest of that shard is skipped,
 * reported once. Options are checked at creation (RangeError naming the option).
 *
 * @example
 * const train$ = tfrecord('~/tensorflow_datasets/cifar10/3.0.2', { numClasses: 10, seed: 1 });
 */
export function tfrecord(shards: string | readonly string[], options: TfrecordOptions): Observable<EncodedSample> {
  const {
    numClasses,
    imageKey = 'image',
    labelKey = 'label',
    seed = 0,
    shuffle = true,
    onError = 'fail',
    onSkip,
    readSize = DEFAULT_READ_SIZE,
    maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
    cycleLength: cycleOption,
  } = options ?? ({} as Partial<TfrecordOptions>);
  const where = 'tfrecord';
  check(
    typeof shards === 'string'
      ? shards.length > 0
      : Array.isArray(shards) && shards.length > 0 && shards.every((s) => typeof s === 'string' && s.length > 0),
    where,
    'shards',
    'must be a path or a non-empty list of paths',
  );
  check(Number.isInteger(numClasses) && numClasses >= 1, where, 'numClasses', `is required: a positive integer, got ${String(numClasses)}`);
  check(typeof imageKey === 'string' && imageKey.length > 0, where, 'imageKey', 'must be a non-empty string');
  check(typeof labelKey === 'string' && labelKey.length > 0, where, 'labelKey', 'must be a non-empty string');
  check(Number.isFinite(seed), where, 'seed', `must be a finite number, got ${seed}`);
  check(onError === 'fail' || onError === 'skip', where, 'onError', `must be 'fail' or 'skip', got '${String(onError)}'`);
  check(Number.isInteger(readSize) && readSize >= 16, where, 'readSize', `must be an integer >= 16, got ${readSize}`);
  check(
    Number.isSafeInteger(maxRecordBytes) && maxRecordBytes >= 1,
    where,
    'maxRecordBytes',
    `must be a positive integer, got ${maxRecordBytes}`,
  );
  check(
    cycleOption === undefined || (Number.isInteger(cycleOption) && cycleOption >= 1),
    where,
    'cycleLength',
    `must be a positive integer, got ${String(cycleOption)}`,
  );

  const source = pullSource(async function* (epoch) {
    const files = await listTfrecordShards(shards);
    if (shuffle) rng(seed, 'tfrecord', epoch).shuffle(files);
    const cycle = Math.min(cycleOption ?? 4, files.length);
    const slots: Array<{ file: string; reader: ChunkReader } | undefined> = new Array(cycle).fill(undefined);
    let nextShard = 0;
    let open = 0;
    let index = 0;
    const bad = (origin: string, reason: string): void => {
      const error = new SourceError(where, origin, reason);
      if (onError === 'fail') throw error;
      onSkip?.(error.dataError);
    };
    try {
      let slot = 0;
      while (open > 0 || nextShard < files.length) {
        let s = slots[slot];
        if (!s) {
          if (nextShard >= files.length) {
            slot = (slot + 1) % cycle;
            continue;
          }
          const file = files[nextShard++] as string;
          s = { file, reader: await ChunkReader.open(file, readSize, where) };
          slots[slot] = s;
          open++;
        }
        const r = await readTfrecord(s.reader, maxRecordBytes);
        if (!r || (!r.ok && r.fatal)) {
          if (r) bad(`${s.file}@${r.offset}`, r.reason);
          slots[slot] = undefined;
          open--;
          await s.reader.close();
          continue; // the next shard takes this slot's turn
        }
        const origin = `${s.file}@${r.offset}`;
        if (!r.ok) {
          bad(origin, r.reason);
          continue;
        }
        let sample: EncodedSample | undefined;
        let reason: string;
        try {
          const features = parseExample(r.data);
          const image = features.get(imageKey);
          const label = features.get(labelKey);
          if (!image) reason = `no feature '${imageKey}' (imageKey); features: ${[...features.keys()].join(', ') || 'none'}`;
          else if (image.kind !== 'bytes' || image.values.length !== 1)
            reason = `feature '${imageKey}' is ${image.kind} with ${image.values.length} values, expected bytes with 1 value`;
          else if (!label) reason = `no feature '${labelKey}' (labelKey); features: ${[...features.keys()].join(', ') || 'none'}`;
          else if (label.kind !== 'int64' || label.values.length !== 1)
            reason = `feature '${labelKey}' is ${label.kind} with ${label.values.length} values, expected int64 with 1 value`;
          else {
            const value = label.values[0] as number;
            if (value < 0 || value >= numClasses) reason = `label ${value} is outside [0, ${numClasses}) (numClasses)`;
            else {
              reason = '';
              sample = { input: (image.values[0] as Uint8Array).slice(), origin, label: value, numClasses, epoch, index };
            }
          }
        } catch (error) {
          if (!(error instanceof ProtobufError)) throw error;
          reason = `not a tf.train.Example: ${error.message}`;
        }
        if (!sample) {
          bad(origin, reason);
          continue;
        }
        index++;
        yield sample;
        slot = (slot + 1) % cycle;
      }
    } finally {
      for (const s of slots) if (s) await s.reader.close().catch(() => {});
    }
  }, pipelineSeed(options?.seed));
  const shardList = typeof shards === 'string' ? path.resolve(shards) : shards.map((s) => path.resolve(s));
  return describeSource(
    source,
    `tfrecord(${JSON.stringify({ shards: shardList, numClasses, imageKey, labelKey, seed, shuffle, cycleLength: cycleOption ?? null, onError })})`,
    {
      fingerprint: async () => fingerprintFiles(await listTfrecordShards(shards)),
    },
  );
}

import { mkdir, open, rename, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Observable, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import { packUnit } from '../core/image.js';
import { check, type ImageSample } from '../core/types.js';
import { described } from '../flow/describe.js';
import { identityOf, keyOf } from '../flow/identity.js';
import { pullSource } from '../sources/pullSource.js';
import { defined } from '../core/idioms.js';

export interface CacheOptions {
  /** A folder for an on-disk cache (for data larger than memory). Default: in memory. */
  readonly dir?: string;
  /**
   * What the cached data depends on. Default: derived from the pipeline before the cache (its
   * stages and options, and the source's files with their sizes and times), so a change there
   * invalidates it. Required when a stage before the cache is not one of mixstream's.
   */
  readonly key?: string;
}

interface Entry {
  readonly origin: string;
  readonly label: number;
  readonly numClasses: number;
  readonly index: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** 'u8': a byte image (decoded images are; exact float32 ones become one); 'f32': float32 bytes. */
  readonly dtype: 'u8' | 'f32';
  readonly delta: number;
  readonly clip: boolean;
  /** Flips still to apply (a cache placed after augment); absent in caches written before. */
  readonly flipH?: boolean;
  readonly flipV?: boolean;
  readonly offset: number;
  readonly bytes: number;
  /** The pipeline seed and chain place the sample carried (core/seeds.ts); absent in older caches. */
  readonly seed?: number;
  readonly stream?: number;
  /** The source's number under its sink (see Position); absent in older caches. */
  readonly source?: number;
}

/** A sample's image as stored bytes, and its entry (without the place it is stored at). */
function store(s: ImageSample): { data: Uint8Array; entry: Omit<Entry, 'offset' | 'bytes'> } {
  const { origin, label, numClasses, index, height, width, channels } = s;
  const common = {
    origin,
    label,
    numClasses,
    index,
    height,
    width,
    channels,
    ...defined({ seed: s.seed }),
    ...defined({ stream: s.stream }),
    ...defined({ source: s.source }),
  };
  if (s.image instanceof Uint8Array) {
    return {
      data: new Uint8Array(s.image),
      entry: { ...common, dtype: 'u8', delta: s.delta ?? 0, clip: s.clip ?? false, flipH: s.flipH ?? false, flipV: s.flipV ?? false },
    };
  }
  const { dtype, data } = packUnit(s.image);
  return { data, entry: { ...common, dtype, delta: 0, clip: false } };
}

const sampleOf = (e: Entry, data: Uint8Array, epoch: number): ImageSample => {
  const image = e.dtype === 'u8' ? data : new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const keys = {
    ...defined({ seed: e.seed }),
    ...defined({ stream: e.stream }),
    ...defined({ source: e.source }),
  };
  const sample = {
    image,
    height: e.height,
    width: e.width,
    channels: e.channels,
    label: e.label,
    numClasses: e.numClasses,
    origin: e.origin,
    epoch,
    index: e.index,
    ...keys,
  };
  const pending = e.delta !== 0 || e.clip ? { ...sample, delta: e.delta, clip: e.clip } : sample;
  return e.flipH || e.flipV ? { ...pending, flipH: e.flipH ?? false, flipV: e.flipV ?? false } : pending;
};

/** One complete epoch's samples, in memory or in a folder, read back in order. */
interface Store {
  records(): AsyncIterable<readonly [Entry, Uint8Array]> | Iterable<readonly [Entry, Uint8Array]>;
}

/**
 * tf.data's cache(): the first complete epoch passes through and is recorded; later epochs replay
 * the record (in the first epoch's order, stamped with their own epoch number, so the random steps
 * after it draw anew) without touching the stages before it. Place it after normalizeResize and
 * before augment, shuffleWindow and batch. An epoch cut short is not kept. In memory, decoded
 * images take 1 byte a value; on disk (`dir`), a folder per key holds `samples.bin` and
 * `index.json`, written when the epoch completes, read back under the sink's credit.
 *
 * @example
 * imageFolder(root).pipe(normalizeResize({ size: 224 }), cache(), augment({ flip: 'horizontal' }), ...)
 */
export function cache(options: CacheOptions = {}): MonoTypeOperatorFunction<ImageSample> {
  const { dir, key } = options;
  check(key === undefined || key.length > 0, 'cache', 'key', 'must be a non-empty string');
  let memory: { key: string; store: Store } | undefined;
  let epochs = 0;
  return described('cache', { ...options }, (source: Observable<ImageSample>) => {
    const identity = identityOf(source);
    const keyFor = async (): Promise<string> => {
      if (key !== undefined) return keyOf(key);
      if (!identity)
        throw new Error('cache: a stage before the cache is not a mixstream stage, so changes to it cannot be seen; pass the `key` option');
      return keyOf(identity.description, await identity.fingerprint());
    };
    return new Observable<ImageSample>((subscriber) => {
      const epoch = epochs++;
      let inner: Subscription | undefined;
      let recorder: Recorder | undefined;
      let stopped = false;
      let done = false;
      void (async () => {
        const k = await keyFor();
        const stored = dir === undefined ? (memory?.key === k ? memory.store : undefined) : await openDiskStore(path.join(dir, k));
        if (stopped) return;
        if (stored) {
          const replay = pullSource(
            async function* () {
              for await (const [e, data] of stored.records()) yield sampleOf(e, data, epoch);
            },
            { numbered: false },
          );
          inner = replay.subscribe(subscriber);
          return;
        }
        recorder = dir === undefined ? memoryRecorder() : await diskRecorder(path.join(dir, k));
        if (stopped) return void recorder.abort();
        const rec = recorder;
        inner = source.subscribe({
          next: (s) => {
            rec.add(s);
            subscriber.next(s.epoch === epoch ? s : { ...s, epoch });
          },
          error: (error: unknown) => {
            void rec.abort();
            subscriber.error(error);
          },
          complete: () => {
            done = true;
            void rec.finish().then(
              (store) => {
                if (dir === undefined) memory = { key: k, store };
                subscriber.complete();
              },
              (error: unknown) => subscriber.error(error),
            );
          },
        });
      })().catch((error: unknown) => subscriber.error(error));
      return () => {
        stopped = true;
        inner?.unsubscribe();
        // An epoch cut short is not kept: its partial recording (open file, folder) goes.
        if (!done) void recorder?.abort();
      };
    });
  });
}

/** Records one epoch: `finish` keeps it, `abort` drops it (and frees what it held). */
interface Recorder {
  add(s: ImageSample): void;
  finish(): Promise<Store>;
  abort(): Promise<void>;
}

function memoryRecorder(): Recorder {
  const entries: Entry[] = [];
  const blobs: Uint8Array[] = [];
  return {
    add(s) {
      const { data, entry } = store(s);
      entries.push({ ...entry, offset: blobs.length, bytes: data.length });
      blobs.push(data);
    },
    async finish() {
      return {
        // Every replay hands out the recorded arrays themselves: samples are read-only (no stage
        // writes into a sample's image), and a copy an image would cost a fifth of a warm epoch.
        *records() {
          for (const e of entries) yield [e, blobs[e.offset] as Uint8Array] as const;
        },
      };
    },
    async abort() {
      entries.length = 0;
      blobs.length = 0;
    },
  };
}

let recordings = 0;

async function diskRecorder(folder: string): Promise<Recorder> {
  // Its own folder: two first epochs recording at once (two pipelines, two processes) never mix.
  const partial = `${folder}.partial-${process.pid}-${recordings++}`;
  await mkdir(partial, { recursive: true });
  const file = await open(path.join(partial, 'samples.bin'), 'w');
  const entries: Entry[] = [];
  let offset = 0;
  let writing: Promise<unknown> = Promise.resolve();
  return {
    add(s) {
      const { data, entry } = store(s);
      entries.push({ ...entry, offset, bytes: data.length });
      const at = offset;
      offset += data.length;
      writing = writing.then(() => file.write(data, 0, data.length, at));
    },
    async finish() {
      await writing;
      await file.close();
      await writeFile(path.join(partial, 'index.json'), JSON.stringify({ version: 2, entries }));
      await rm(folder, { recursive: true, force: true });
      // Another recording of the same key may have landed in between: then keep that one.
      await rename(partial, folder).catch(() => rm(partial, { recursive: true, force: true }));
      const store = await openDiskStore(folder);
      if (!store) throw new Error(`cache: '${folder}' could not be read back after writing it`);
      return store;
    },
    async abort() {
      await writing.catch(() => undefined);
      await file.close().catch(() => undefined);
      await rm(partial, { recursive: true, force: true });
    },
  };
}

async function openDiskStore(folder: string): Promise<Store | undefined> {
  const index = await readFile(path.join(folder, 'index.json'), 'utf8').catch(() => undefined);
  if (index === undefined) return undefined;
  const { version, entries } = JSON.parse(index) as { version: number; entries: Entry[] };
  if (version !== 2) return undefined; // another layout: rebuilt
  const file = path.join(folder, 'samples.bin');
  return {
    async *records() {
      const handle = await open(file, 'r');
      try {
        for (const e of entries) {
          const data = new Uint8Array(e.bytes);
          const { bytesRead } = await handle.read(data, 0, e.bytes, e.offset);
          if (bytesRead !== e.bytes)
            throw new Error(`cache: '${file}' is truncated at byte ${e.offset} (entry '${e.origin}'); delete the folder to rebuild it`);
          yield [e, data] as const;
        }
      } finally {
        await handle.close();
      }
    },
  };
}

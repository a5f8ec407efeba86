import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { dataError, type DataError } from '../core/types.js';
import { keyOf } from '../flow/identity.js';

/**
 * File helpers shared by the dataset sources: streaming chunked reads with a file handle, fixed-size
 * row files read by position, gzip detection and inflation to a temporary file. Nothing here reads a
 * whole file into memory.
 */

/** An error about one piece of data (a record, row or file): `dataError` names its origin and why. */
export class SourceError extends Error {
  readonly dataError: DataError;
  constructor(where: string, origin: string, reason: string) {
    super(`${where}: ${origin}: ${reason}`);
    this.name = 'SourceError';
    this.dataError = dataError(origin, reason);
  }
}

/** What a source does with a bad record: fail the epoch (error channel) or skip it and report it. */
export type OnError = 'fail' | 'skip';

/** Default bytes read per `read` call: 1 MiB. */
export const DEFAULT_READ_SIZE = 1 << 20;

/**
 * A forward reader over a file with a buffer of about `readSize` bytes (more only while one piece
 * larger than that is held). `fill(n)` makes `n` bytes available from `offset` (fewer at the end of
 * the file); `bytes[start, start + available)` are they; `consume(n)` moves on.
 */
export class ChunkReader {
  bytes: Uint8Array;
  start = 0;
  private end = 0;
  /** File offset of `bytes[start]`. */
  offset = 0;

  private constructor(
    private readonly handle: FileHandle,
    /** File size in bytes, at open. */
    readonly size: number,
    private readonly readSize: number,
  ) {
    this.bytes = new Uint8Array(Math.min(readSize, Math.max(size, 16)));
  }

  /** Opens `file` for reading; rejects with the file system's error (naming the path). */
  static async open(file: string, readSize = DEFAULT_READ_SIZE): Promise<ChunkReader> {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      return new ChunkReader(handle, size, readSize);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Bytes buffered from `offset`. */
  get available(): number {
    return this.end - this.start;
  }

  /** Bytes of the file from `offset` to its end (as sized at open). */
  get remaining(): number {
    return this.size - this.offset;
  }

  /** Buffers at least `n` bytes from `offset`, or all that is left; returns `available`. */
  async fill(n: number): Promise<number> {
    if (this.end - this.start >= n) return this.end - this.start;
    if (this.bytes.length - this.start < n) {
      const have = this.end - this.start;
      if (this.bytes.length < n) {
        const next = new Uint8Array(Math.max(n, this.readSize));
        next.set(this.bytes.subarray(this.start, this.end));
        this.bytes = next;
      } else this.bytes.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.end = have;
    } else if (this.bytes.length > this.readSize && this.start === this.end) {
      // A large piece has passed: drop back to the usual buffer size.
      this.bytes = new Uint8Array(this.readSize);
      this.start = this.end = 0;
    }
    while (this.end - this.start < n) {
      const room = this.bytes.length - this.end;
      const filePos = this.offset + (this.end - this.start);
      const { bytesRead } = await this.handle.read(this.bytes, this.end, room, filePos);
      if (bytesRead === 0) break;
      this.end += bytesRead;
    }
    return this.end - this.start;
  }

  /** Moves past `n` buffered bytes. */
  consume(n: number): void {
    this.start += n;
    this.offset += n;
  }

  /** Moves past `n` bytes, buffered or not. */
  skip(n: number): void {
    const buffered = Math.min(n, this.end - this.start);
    this.consume(buffered);
    if (n > buffered) {
      this.offset += n - buffered;
      this.start = this.end = 0;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * A file of `count` rows of `rowSize` bytes after a header of `headerSize` bytes, read by row
 * number. With `sequential` it reads about `readSize` bytes of rows at a time (for an in-order
 * scan); otherwise one row per read (for a shuffled order). The view `row(i)` returns is valid
 * until the next call.
 */
export class RowFile {
  private buf: Uint8Array;
  private first = 0;
  private rows = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    readonly headerSize: number,
    readonly rowSize: number,
    readonly count: number,
    private readonly perRead: number,
  ) {
    this.buf = new Uint8Array(rowSize * perRead);
  }

  static async open(file: string, headerSize: number, rowSize: number, count: number, sequential: boolean, readSize = DEFAULT_READ_SIZE): Promise<RowFile> {
    const handle = await open(file, 'r');
    const perRead = sequential ? Math.max(1, Math.floor(readSize / rowSize)) : 1;
    return new RowFile(handle, file, headerSize, rowSize, count, perRead);
  }

  async row(i: number): Promise<Uint8Array> {
    if (i < this.first || i >= this.first + this.rows) {
      const n = Math.min(this.perRead, this.count - i);
      const want = n * this.rowSize;
      let got = 0;
      while (got < want) {
        const { bytesRead } = await this.handle.read(this.buf, got, want - got, this.headerSize + i * this.rowSize + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < want) throw new SourceError('rows', `${this.file}#${i}`, `file ended early: ${got} of ${want} bytes read at offset ${this.headerSize + i * this.rowSize} (was it truncated while reading?)`);
      this.first = i;
      this.rows = n;
    }
    const at = (i - this.first) * this.rowSize;
    return this.buf.subarray(at, at + this.rowSize);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** A key of the files' paths, sizes and modification times (missing ones as such) and `extra`: changes when the data does. For `describeAs`. */
export async function fingerprintFiles(files: readonly string[], extra: readonly string[] = []): Promise<string> {
  const parts = await Promise.all(files.map(async (f) => {
    const s = await stat(f).catch(() => undefined); // a missing file is part of the state too
    return s ? `${path.resolve(f)}:${s.size}:${Math.trunc(s.mtimeMs)}` : `${path.resolve(f)}:missing`;
  }));
  return keyOf(...parts, ...extra);
}

/** Whether `file` starts with the gzip magic bytes 1f 8b. */
export async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** A file ready to read: `file` itself, or its inflated copy in a temporary folder that `dispose` removes. */
export interface PlainFile {
  readonly path: string;
  dispose(): Promise<void>;
}

/**
 * `file` as a plain file: if it is gzipped (by magic bytes, whatever its name), it is inflated as a
 * stream into a temporary folder under os.tmpdir(), removed by `dispose`. A corrupt or truncated
 * gzip rejects with a `SourceError` naming the file.
 */
export async function plainFile(where: string, file: string): Promise<PlainFile> {
  if (!(await isGzip(file))) return { path: file, dispose: async () => {} };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-gunzip-'));
  const out = path.join(dir, path.basename(file).replace(/\.gz$/i, '') || 'inflated');
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await pipeline(createReadStream(file), createGunzip(), createWriteStream(out));
  } catch (error) {
    await dispose();
    throw new SourceError(where, file, `gzip data is corrupt or truncated (${error instanceof Error ? error.message : String(error)})`);
  }
  return { path: out, dispose };
}

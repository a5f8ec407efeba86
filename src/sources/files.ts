import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { dataError, type DataError } from '../core/types.js';
import { keyOf } from '../flow/identity.js';
import { errorMessage } from '../core/idioms.js';

/**
 * File helpers shared by the dataset sources: opening only regular files (never a FIFO, socket,
 * device or /proc file), streaming chunked reads with a file handle, fixed-size row files read by
 * position, gzip detection (inflation: gzip.ts). Nothing here reads a whole file into memory
 * unless asked to, with a size limit (readRegular).
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

/** Folders whose files are the system's, never data: reading them can block or never end (/proc/kmsg, /dev/zero). */
const SYSTEM_ROOTS = ['/proc', '/sys', '/dev'];

/** The system folder `real` (a resolved path) lies in, if any. */
export function systemRoot(real: string): string | undefined {
  return SYSTEM_ROOTS.find((r) => real === r || real.startsWith(`${r}/`));
}

let systemDevices: Map<number, string> | undefined;

/**
 * The system folder whose file system holds a file of device `dev` (procfs, sysfs), if any: read
 * from the open descriptor's fstat, so no path resolution is needed and no swap can slip past.
 */
function systemFileSystem(dev: number): string | undefined {
  if (!systemDevices) {
    systemDevices = new Map();
    for (const root of ['/proc', '/sys']) {
      try {
        systemDevices.set(statSync(root).dev, root);
      } catch {
        // not mounted here: nothing to refuse
      }
    }
  }
  return systemDevices.get(dev);
}

/** Why an open file is not data (not regular, a system file, over `maxBytes`), or undefined. */
function notData(s: Stats, maxBytes: number): string | undefined {
  if (!s.isFile()) return `is ${fileKind(s)}, not a regular file`;
  const system = systemFileSystem(s.dev);
  if (system) return `is under ${system} (a system file, not data)`;
  if (s.size > maxBytes) return `is ${s.size} bytes, over the limit of ${maxBytes} bytes`;
  return undefined;
}

/** What a non-regular file is, in words: 'a FIFO', 'a socket', 'a character device', ... */
export function fileKind(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

// O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one; the fstat
// that follows then refuses it. It changes nothing for regular files.
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

const openFailure = (where: string, file: string, error: unknown): SourceError => {
  const code = (error as { code?: string }).code;
  const reason =
    code === 'ENOENT'
      ? 'does not exist'
      : code === 'ELOOP'
        ? 'is a symbolic link loop'
        : code === 'ENXIO'
          ? 'is a socket or a FIFO with no writer, not a regular file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'cannot be read (permission denied)'
            : code === 'EISDIR'
              ? 'is a folder, not a file'
              : `cannot be opened (${code ?? errorMessage(error)})`;
  return new SourceError(where, file, reason);
};

/**
 * Opens `file` for reading only if it is a regular file, and not one of /proc or /sys: a FIFO, a
 * socket or a device (all of /dev) is refused (a `SourceError` naming the path and what it is)
 * rather than waited on for ever. Checked on the open descriptor (fstat: its type and its file
 * system), so a swap after the check cannot slip one in. `maxBytes` refuses a larger file before
 * anything is read.
 */
export async function openRegular(
  where: string,
  file: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(file, READ_FLAGS).catch((error: unknown) => {
    throw openFailure(where, file, error);
  });
  try {
    const s = await handle.stat();
    const why = notData(s, maxBytes);
    if (why) throw new SourceError(where, file, why);
    return { handle, size: s.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads all of `file` as `openRegular` allows it (regular, at most `maxBytes`). */
export async function readRegular(where: string, file: string, maxBytes = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
  return readAll(await openRegular(where, file, maxBytes), (n) => new Uint8Array(n));
}

/** Reads an opened file's `size` bytes (fewer if it shrank meanwhile) into `alloc(size)` and closes it. */
async function readAll<T extends Uint8Array>({ handle, size }: { handle: FileHandle; size: number }, alloc: (n: number) => T): Promise<T> {
  try {
    const out = alloc(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await handle.read(out, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return out.subarray(0, got) as T;
  } finally {
    await handle.close();
  }
}

/**
 * Where the open file behind `handle` really is: /proc/self/fd's link on Linux (the file opened,
 * not whatever the path names now), else the path's realpath.
 */
async function openedPath(handle: FileHandle, file: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return realpath(file);
  }
}

/**
 * `openRegular` for a file a program keeps for itself (a run file, a checkpoint, a lock, a model's
 * weights): also refused when a symbolic link takes it out of its folder (to /dev/zero,
 * /etc/passwd, another store), judged on the file actually opened.
 */
export async function openContained(
  where: string,
  file: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<{ handle: FileHandle; size: number }> {
  const opened = await openRegular(where, file, maxBytes);
  try {
    const folder = await realpath(path.dirname(path.resolve(file)));
    const real = await openedPath(opened.handle, file);
    const rel = path.relative(folder, real);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new SourceError(where, file, `is a link to '${real}', outside its folder`);
    return opened;
  } catch (error) {
    await opened.handle.close();
    throw error;
  }
}

/** All of `file` as `openContained` allows it (regular, inside its folder, at most `maxBytes`). */
export async function readContained(where: string, file: string, maxBytes = Number.POSITIVE_INFINITY): Promise<Buffer> {
  return readAll(await openContained(where, file, maxBytes), (n) => Buffer.allocUnsafe(n));
}

/** `readRegular`, synchronously (for a worker thread, where a round trip per call costs more than the read). */
export function readRegularSync(where: string, file: string, maxBytes = Number.POSITIVE_INFINITY): Buffer {
  let fd: number;
  try {
    fd = openSync(file, READ_FLAGS);
  } catch (error) {
    throw openFailure(where, file, error);
  }
  try {
    const s = fstatSync(fd);
    const why = notData(s, maxBytes);
    if (why) throw new SourceError(where, file, why);
    const out = Buffer.allocUnsafe(s.size);
    let got = 0;
    while (got < s.size) {
      const n = readSync(fd, out, got, s.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** A small text file beside the data (class names): undefined when absent; refused when special or over `maxBytes`. */
export async function readSmallText(where: string, file: string, maxBytes = 1 << 20): Promise<string | undefined> {
  const exists = await stat(file).catch(() => undefined);
  if (!exists) return undefined;
  return new TextDecoder().decode(await readRegular(where, file, maxBytes));
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
  static async open(file: string, readSize = DEFAULT_READ_SIZE, where = 'read'): Promise<ChunkReader> {
    const { handle, size } = await openRegular(where, file);
    return new ChunkReader(handle, size, readSize);
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

  /** `file` is a path (opened with `openRegular`) or a handle the RowFile then owns. */
  static async open(
    file: string | { handle: FileHandle; name: string },
    headerSize: number,
    rowSize: number,
    count: number,
    sequential: boolean,
    readSize = DEFAULT_READ_SIZE,
  ): Promise<RowFile> {
    const handle = typeof file === 'string' ? (await openRegular('rows', file)).handle : file.handle;
    const name = typeof file === 'string' ? file : file.name;
    const perRead = sequential ? Math.max(1, Math.floor(readSize / rowSize)) : 1;
    return new RowFile(handle, name, headerSize, rowSize, count, perRead);
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
      if (got < want)
        throw new SourceError(
          'rows',
          `${this.file}#${i}`,
          `file ended early: ${got} of ${want} bytes read at offset ${this.headerSize + i * this.rowSize} (was it truncated while reading?)`,
        );
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
  const parts = await Promise.all(
    files.map(async (f) => {
      const s = await stat(f).catch(() => undefined); // a missing file is part of the state too
      return s ? `${path.resolve(f)}:${s.size}:${Math.trunc(s.mtimeMs)}` : `${path.resolve(f)}:missing`;
    }),
  );
  return keyOf(...parts, ...extra);
}

/** Whether `file` starts with the gzip magic bytes 1f 8b. */
export async function isGzip(file: string, where = 'read'): Promise<boolean> {
  const { handle } = await openRegular(where, file);
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

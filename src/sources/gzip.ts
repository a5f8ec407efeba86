import { createGunzip } from 'node:zlib';
import { DEFLATE_MAX_RATIO } from '../core/limits.js';
import { openRegular, SourceError } from './files.js';
import { errorMessage } from '../core/idioms.js';

/**
 * Gzip as a stream with a cap: the first bytes (to read a header before trusting it), the inflated
 * bytes read in order (`InflatedStream`), and the rows of a gzipped table in any order by passes
 * over it (`gunzipRowsInOrder`). Nothing is written to disk (a 2.3 MB gzip with an honest header
 * once filled the temp folder with 2.4 GB), memory is bounded by what the caller keeps, and the
 * inflated size never exceeds what the header declared.
 */

/** Whether the bytes start with the gzip magic 1f 8b. */
export const hasGzipMagic = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** The most bytes a gzip of `size` bytes can inflate to (deflate's best ratio), so larger declarations are impossible. */
export const maxInflatedSize = (size: number): number => size * DEFLATE_MAX_RATIO + 1024;

/** The first `n` inflated bytes of the gzip `file` (fewer if it is shorter); inflates no more than that. */
export async function gunzipHead(where: string, file: string, n: number): Promise<Uint8Array> {
  const { handle } = await openRegular(where, file);
  const stream = handle.createReadStream({ highWaterMark: 64 * 1024 });
  const z = createGunzip();
  const parts: Buffer[] = [];
  let size = 0;
  try {
    stream.pipe(z);
    for await (const chunk of z) {
      parts.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= n) break;
    }
  } catch (error) {
    throw new SourceError(where, file, `gzip data is corrupt or truncated (${errorMessage(error)})`);
  } finally {
    z.destroy();
    stream.destroy();
    await handle.close().catch(() => {});
  }
  return new Uint8Array(Buffer.concat(parts)).subarray(0, n);
}

/**
 * The inflated bytes of a gzip, read in order, no more than `cap` of them (what a header declared):
 * nothing is written to disk and nothing is kept but the current chunk. Errors are SourceErrors
 * naming the file: corrupt data, fewer bytes than `cap` when they are asked for (truncated, with
 * `what` saying what declared them), or more than `cap` (`expectEnd`).
 */
export class InflatedStream {
  private chunk: Buffer = Buffer.alloc(0);
  private at = 0;
  /** Inflated bytes consumed so far. */
  position = 0;

  private constructor(
    private readonly where: string,
    private readonly file: string,
    private readonly cap: number,
    private readonly what: string,
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly stop: () => Promise<void>,
  ) {}

  static async open(where: string, file: string, cap: number, what: string): Promise<InflatedStream> {
    const { handle } = await openRegular(where, file);
    const stream = handle.createReadStream({ highWaterMark: 256 * 1024 });
    const z = createGunzip();
    stream.on('error', (error) => z.destroy(error));
    stream.pipe(z);
    const stop = async (): Promise<void> => {
      z.destroy();
      stream.destroy();
      await handle.close().catch(() => {});
    };
    return new InflatedStream(where, file, cap, what, z[Symbol.asyncIterator]() as AsyncIterator<Buffer>, stop);
  }

  private async next(): Promise<boolean> {
    let r: IteratorResult<Buffer>;
    try {
      r = await this.chunks.next();
    } catch (error) {
      throw new SourceError(
        this.where,
        this.file,
        `gzip data is corrupt or truncated (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (r.done) return false;
    this.chunk = r.value;
    this.at = 0;
    return true;
  }

  /** Copies the next `n` bytes into `target` at `offset` (skips them when `target` is undefined). */
  async read(target: Uint8Array | undefined, offset: number, n: number): Promise<void> {
    if (this.position + n > this.cap) throw new SourceError(this.where, this.file, `a read past the ${this.cap} bytes its header declares`);
    let done = 0;
    while (done < n) {
      if (this.at >= this.chunk.length && !(await this.next()))
        throw new SourceError(this.where, this.file, `inflates to ${this.position} bytes, ${this.what} declares ${this.cap}: truncated`);
      const take = Math.min(n - done, this.chunk.length - this.at);
      target?.set(this.chunk.subarray(this.at, this.at + take), offset + done);
      this.at += take;
      done += take;
      this.position += take;
    }
  }

  /** After the last declared byte: rejects when the gzip inflates to more. */
  async expectEnd(): Promise<void> {
    while (this.at >= this.chunk.length) if (!(await this.next())) return;
    throw new SourceError(this.where, this.file, `inflates to more than ${this.cap} bytes, the most its header allows; stopped there`);
  }

  async close(): Promise<void> {
    await this.stop();
  }
}

/**
 * The rows of a gzipped table (`count` rows of `rowBytes` after `offset` header bytes) in `order`
 * (row numbers; undefined: file order), without random access and without writing the file out:
 * `order` is taken in windows of `window` rows; each window is gathered in one pass over the
 * inflated bytes (sorted by row, skipping the others) and then yielded in its order. In file
 * order that is a single pass; shuffled, one pass a window, so memory stays at `window` rows
 * whatever the file declares. Each yielded row is [row number, its bytes]; the bytes are valid
 * until the next row is asked for.
 */
export async function* gunzipRowsInOrder(
  open: () => Promise<InflatedStream>,
  offset: number,
  rowBytes: number,
  count: number,
  order: ArrayLike<number> | undefined,
  window: number,
): AsyncGenerator<[number, Uint8Array]> {
  const rowAt = (p: number): number => (order ? (order[p] as number) : p);
  let stream: InflatedStream | undefined;
  let held = new Uint8Array(0);
  try {
    for (let start = 0; start < count; start += window) {
      const end = Math.min(count, start + window);
      const slots = Array.from({ length: end - start }, (_, i) => i).sort((a, b) => rowAt(start + a) - rowAt(start + b));
      if (held.length < slots.length * rowBytes) held = new Uint8Array(slots.length * rowBytes);
      const first = offset + rowAt(start + (slots[0] as number)) * rowBytes;
      if (!stream || stream.position > first) {
        await stream?.close();
        stream = await open();
      }
      for (const slot of slots) {
        const at = offset + rowAt(start + slot) * rowBytes;
        await stream.read(undefined, 0, at - stream.position);
        await stream.read(held, slot * rowBytes, rowBytes);
      }
      if (stream.position === offset + count * rowBytes) await stream.expectEnd();
      for (let i = 0; i < slots.length; i++) yield [rowAt(start + i), held.subarray(i * rowBytes, (i + 1) * rowBytes)];
    }
  } finally {
    await stream?.close();
  }
}

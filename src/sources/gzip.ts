import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { DEFLATE_MAX_RATIO } from '../core/limits.js';
import { openRegular, SourceError } from './files.js';
import { errorMessage } from '../core/idioms.js';

/**
 * Gzip as a stream with a cap: the first bytes (to read a header before trusting it), and the
 * whole inflated file into a temporary file that has no name (unlinked as soon as it is opened),
 * so a killed process leaves nothing behind and the inflated size never exceeds what was allowed.
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
 * Inflates the gzip `file` into an unnamed temporary file and returns its open handle (the caller
 * closes it; closing frees the space). Rejects with a `SourceError` naming the file when the data
 * is corrupt, or inflates to more than `cap` bytes (stopping there: no more is written).
 */
export async function gunzipToHandle(where: string, file: string, cap: number): Promise<{ handle: FileHandle; size: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-gunzip-'));
  let out: FileHandle;
  try {
    out = await open(path.join(dir, 'inflated'), 'w+');
  } finally {
    // Unlinked at once: the data lives while the handle is open and vanishes with the process.
    await rm(dir, { recursive: true, force: true });
  }
  const { handle } = await openRegular(where, file).catch(async (error: unknown) => {
    await out.close();
    throw error;
  });
  const stream = handle.createReadStream({ highWaterMark: 256 * 1024 });
  const z = createGunzip();
  let size = 0;
  try {
    stream.pipe(z);
    for await (const chunk of z) {
      const c = chunk as Buffer;
      if (size + c.length > cap)
        throw new SourceError(where, file, `inflates to more than ${cap} bytes, the most its header allows; stopped there`);
      await out.write(c, 0, c.length, size);
      size += c.length;
    }
    return { handle: out, size };
  } catch (error) {
    await out.close().catch(() => {});
    if (error instanceof SourceError) throw error;
    throw new SourceError(where, file, `gzip data is corrupt or truncated (${errorMessage(error)})`);
  } finally {
    z.destroy();
    stream.destroy();
    await handle.close().catch(() => {});
  }
}

/**
 * Opening a weights file the user named, safely: a regular file (not a FIFO that would block, not
 * /dev/zero behind a symlink), its size known before anything is read, and its SHA-256 for the
 * run's record. Every refusal is a WeightsError: one line naming the file and the reason.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

/** A weights file that cannot be used: `message` is one line, `weights 'FILE': reason`. */
export class WeightsError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`weights '${file}': ${reason.replace(/\s*\n\s*/g, ' ')}`);
    this.name = 'WeightsError';
  }
}

/** The message of an unknown thrown value, on one line. */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/**
 * The size of `file` once it is known to be a regular file. Opened non-blocking, so a FIFO is
 * refused rather than waited on; stat'ed through its descriptor, so a symlink is judged by what
 * it points at.
 */
export async function regularFileSize(file: string): Promise<number> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new WeightsError(file, `cannot open: ${messageOf(e)}`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      const kind = st.isFIFO()
        ? 'a FIFO'
        : st.isCharacterDevice()
          ? 'a character device'
          : st.isDirectory()
            ? 'a folder'
            : 'not a regular file';
      throw new WeightsError(file, `is ${kind}, not a regular file`);
    }
    return st.size;
  } finally {
    await handle.close();
  }
}

/** SHA-256 of a file's bytes, hex, read as a stream (constant memory). */
export async function fileSha256(file: string, algorithm: 'sha256' | 'md5' = 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What the loader expects of one layer: its weights' short names ('kernel', 'gamma') and shapes, in tfjs's order. */
export interface ExpectedLayer {
  readonly name: string;
  readonly weights: ReadonlyArray<{ readonly name: string; readonly shape: readonly number[] }>;
}

/** One layer's values read from a file, in the order of its ExpectedLayer's weights. */
export type LayerValues = Float32Array[];

/** `[3, 3, 32]` as `3x3x32`, for messages. */
export const shapeText = (shape: readonly number[]): string => (shape.length === 0 ? 'a scalar' : shape.join('x'));

/** Bytes as '4.0 GB' / '12.3 MB', for messages. */
export function bytesText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${n} bytes`;
}

export const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Decoded images kept for the life of a process, keyed by file and output size: an ablation
 * decodes each image once per process, not once per epoch of every run (28 runs x 16 epochs at
 * npm start's defaults). Decoding is deterministic, so a kept image is the one a new decode
 * would give, bit for bit. Images are byte images at the output size (H x W x 3 bytes each); once
 * `maxBytes` are held, further images are decoded every time as without a memo, or, with a `disk`
 * folder, kept there as resized bytes and read back instead of decoded (see DiskImages). Files are
 * taken as unchanging while the memo lives (an ablation's data is fixed: its listing is in the
 * config hash); the disk cache, which outlives the process, keys each file by its size and time too.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class DecodedImages {
  private readonly images = new Map<string, Uint8Array>();
  private held = 0;
  /** Resized bytes on disk for the images past maxBytes; undefined: none. */
  readonly disk: DiskImages | undefined;

  constructor(
    readonly maxBytes: number,
    options: { readonly disk?: string } = {},
  ) {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0))
      throw new RangeError(`DecodedImages: maxBytes must be an integer >= 0, got ${maxBytes}`);
    this.disk = options.disk === undefined ? undefined : new DiskImages(options.disk);
  }

  static key(file: string, height: number, width: number, maxPixels: number | undefined): string {
    return `${height}x${width}/${maxPixels ?? ''}/${file}`;
  }

  get(key: string): Uint8Array | undefined {
    return this.images.get(key);
  }

  /** The kept image: in memory, or else read back from the disk cache (`file` is the source file, `bytes` the image's size). */
  async find(key: string, file: string, bytes: number): Promise<Uint8Array | undefined> {
    return this.images.get(key) ?? (await this.disk?.read(key, file, bytes));
  }

  /** Keeps `image` (read-only from now on, as every sample is) while it fits; past that, on disk when there is a disk cache. */
  keep(key: string, image: Uint8Array, file?: string): void {
    if (this.images.has(key)) return;
    if (this.held + image.byteLength > this.maxBytes) {
      if (file !== undefined) this.disk?.write(key, file, image);
      return;
    }
    this.images.set(key, image);
    this.held += image.byteLength;
  }

  /** Bytes held in memory. */
  get bytes(): number {
    return this.held;
  }
}

/**
 * A folder of resized images, one file each (raw H x W x 3 bytes), named by a hash of the memo key
 * and the source file's size and modification time, so an edited file is decoded again. Written to
 * a temporary name and renamed, so processes sharing the folder (--jobs workers) never read half a
 * file; a file of the wrong length is not used. A failed write only costs a decode later.
 */
export class DiskImages {
  private writes = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(readonly dir: string) {}

  private async fileFor(key: string, file: string): Promise<string | undefined> {
    const s = await stat(file).catch(() => undefined);
    if (!s) return undefined;
    const h = createHash('sha256').update(`${key}\0${s.size}\0${s.mtimeMs}`).digest('hex');
    return path.join(this.dir, h.slice(0, 2), `${h}.u8`);
  }

  async read(key: string, file: string, bytes: number): Promise<Uint8Array | undefined> {
    const at = await this.fileFor(key, file);
    if (at === undefined) return undefined;
    const data = await readFile(at).catch(() => undefined);
    return data && data.byteLength === bytes ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
  }

  /** Resolves once every write begun so far has landed (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  write(key: string, file: string, image: Uint8Array): void {
    const n = this.writes++;
    const done: Promise<void> = (async () => {
      const at = await this.fileFor(key, file);
      if (at === undefined) return;
      await mkdir(path.dirname(at), { recursive: true });
      const partial = `${at}.partial-${process.pid}-${n}`;
      await writeFile(partial, image);
      await rename(partial, at);
    })()
      .catch(() => undefined)
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
  }
}

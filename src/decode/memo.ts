/**
 * Decoded images kept for the life of a process, keyed by file and output size: an ablation
 * decodes each image once per process, not once per epoch of every run (28 runs x 16 epochs at
 * npm start's defaults). Decoding is deterministic, so a kept image is the one a new decode
 * would give, bit for bit. Images are byte images at the output size (H x W x 3 bytes each); once
 * `maxBytes` are held, further images are decoded every time as without a memo. Files are taken
 * as unchanging while the memo lives (an ablation's data is fixed: its listing is in the config hash).
 */
export class DecodedImages {
  private readonly images = new Map<string, Uint8Array>();
  private held = 0;

  constructor(readonly maxBytes: number) {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0))
      throw new RangeError(`DecodedImages: maxBytes must be an integer >= 0, got ${maxBytes}`);
  }

  static key(file: string, height: number, width: number, maxPixels: number | undefined): string {
    return `${height}x${width}/${maxPixels ?? ''}/${file}`;
  }

  get(key: string): Uint8Array | undefined {
    return this.images.get(key);
  }

  /** Keeps `image` (read-only from now on, as every sample is) while it fits. */
  keep(key: string, image: Uint8Array): void {
    if (this.images.has(key) || this.held + image.byteLength > this.maxBytes) return;
    this.images.set(key, image);
    this.held += image.byteLength;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.held;
  }
}

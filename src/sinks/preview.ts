import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Batch } from '../core/types.js';

export interface PreviewOptions {
  /** Images per row. Default: ceil(sqrt(B)). */
  readonly columns?: number;
  /** Gap between tiles in pixels. Default 2. */
  readonly gap?: number;
}

/**
 * Renders a batch as one PNG grid (values clipped to [0, 1]), so a person can see what the
 * pipeline fed the model, e.g. what cutmix pasted where. Resolves to the PNG bytes.
 *
 * @example
 * await writeFile('cutmix.png', await previewPng(batch));
 */
export async function previewPng(b: Batch, options: PreviewOptions = {}): Promise<Buffer> {
  const [n, h, w, c] = b.shape;
  const columns = Math.max(1, Math.min(n, options.columns ?? Math.ceil(Math.sqrt(n))));
  const gap = options.gap ?? 2;
  const rows = Math.ceil(n / columns);
  const W = columns * w + (columns + 1) * gap;
  const H = rows * h + (rows + 1) * gap;
  const out = Buffer.alloc(W * H * 3, 255);
  for (let i = 0; i < n; i++) {
    const ox = gap + (i % columns) * (w + gap);
    const oy = gap + Math.floor(i / columns) * (h + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = ((i * h + y) * w + x) * c;
        const d = ((oy + y) * W + ox + x) * 3;
        for (let k = 0; k < 3; k++) out[d + k] = Math.round(255 * Math.min(1, Math.max(0, b.images[s + Math.min(k, c - 1)] as number)));
      }
    }
  }
  return sharp(out, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer();
}

/** Writes `previewPng(b)` to `file`. */
export async function savePreview(b: Batch, file: string, options: PreviewOptions = {}): Promise<void> {
  await writeFile(file, await previewPng(b, options));
}

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { rng } from '../core/random.js';

export interface SyntheticOptions {
  /** Number of classes, >= 2. Default 10. */
  readonly classes?: number;
  /** Images per class. Default 100. */
  readonly perClass?: number;
  /** Seed: the same seed writes the same bytes. Default 0. */
  readonly seed?: number;
  /** Image sides are drawn from [minSide, maxSide] pixels (width and height independently). Default 48..128. */
  readonly minSide?: number;
  readonly maxSide?: number;
  /** Noise standard deviation on a 0..255 scale: higher is harder. Default 40. */
  readonly noise?: number;
}

/**
 * Writes a deterministic image folder (root/<class>/<n>.jpg, Stanford Dogs layout) whose classes
 * differ by the angle and frequency of a crossed-stripe texture, under random colour, phase, scale,
 * occluding blobs and noise: learnable, not trivial. The texture is two stripe sets at +-angle, so
 * a left-right flip (what augment does) keeps every image in its own class. Used for the built-in data set, examples and tests.
 * Resolves to the class names.
 */
export async function writeSyntheticFolder(root: string, options: SyntheticOptions = {}): Promise<string[]> {
  const { classes = 10, perClass = 100, seed = 0, minSide = 48, maxSide = 128, noise = 40 } = options;
  const names = Array.from({ length: classes }, (_, c) => `class_${String(c).padStart(2, '0')}`);
  for (const [c, name] of names.entries()) {
    const dir = path.join(root, name);
    await mkdir(dir, { recursive: true });
    const angle = (Math.PI / 2) * ((c + 0.5) / classes);
    const freq = 0.12 + 0.1 * (c % 3);
    for (let i = 0; i < perClass; i++) {
      const r = rng(seed, 'synthetic', c, i);
      const w = minSide + r.int(maxSide - minSide + 1);
      const h = minSide + r.int(maxSide - minSide + 1);
      const scale = Math.min(w, h) / 64;
      const a = angle + r.uniform(-0.04, 0.04);
      const f = (freq * r.uniform(0.8, 1.25)) / scale;
      const phase = r.uniform(0, 2 * Math.PI);
      const fg = [r.uniform(60, 255), r.uniform(60, 255), r.uniform(60, 255)];
      const bg = [r.uniform(0, 120), r.uniform(0, 120), r.uniform(0, 120)];
      const blob = { x: r.uniform(0, w), y: r.uniform(0, h), r: r.uniform(0.1, 0.35) * Math.min(w, h), v: r.uniform(0, 255) };
      const px = Buffer.alloc(w * h * 3);
      const ca = Math.cos(a);
      const sa = Math.sin(a);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const t =
            0.5 + 0.25 * (Math.sin(2 * Math.PI * f * (x * ca + y * sa) + phase) + Math.sin(2 * Math.PI * f * (y * sa - x * ca) + phase));
          const inBlob = (x - blob.x) ** 2 + (y - blob.y) ** 2 < blob.r ** 2;
          for (let k = 0; k < 3; k++) {
            const v = inBlob ? blob.v : (bg[k] as number) + t * ((fg[k] as number) - (bg[k] as number));
            px[(y * w + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(v + noise * r.normal())));
          }
        }
      }
      const jpeg = await sharp(px, { raw: { width: w, height: h, channels: 3 } })
        .jpeg({ quality: 85 })
        .toBuffer();
      await writeFile(path.join(dir, `${String(i).padStart(4, '0')}.jpg`), jpeg);
    }
  }
  return names;
}

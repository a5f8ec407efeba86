import path from 'node:path';
import { DEFAULT_CONFIG, type AblationConfig } from '../../src/experiment/plan/config.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';

/**
 * A tiny ablation to train in a test: 2 classes of 8 generated images (made with `seed`) in a fresh
 * folder, baseline seed 1 for 3 epochs at 8x8, batch 4, on wasm; its output in `<dir>/out`.
 */
export async function tinyAblation(seed: number): Promise<{ dir: string; config: AblationConfig }> {
  const dir = await tempDir();
  const data = path.join(dir, 'data');
  await writeSyntheticFolder(data, { classes: 2, perClass: 8, seed, minSide: 12, maxSide: 16 });
  const config: AblationConfig = {
    ...DEFAULT_CONFIG,
    data,
    arms: ['baseline'],
    seeds: [1],
    epochs: 3,
    size: 8,
    batchSize: 4,
    backend: 'wasm',
    out: path.join(dir, 'out'),
  };
  return { dir, config };
}

import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { main as ablation } from '../examples/ablation.js';
import { main } from '../examples/train.js';
import { writeSyntheticFolder } from '../src/sources/synthetic.js';
import { tempDir } from './helpers.js';

describe('examples/train.ts', () => {
  it('trains a small CNN with fitDataset for 2 epochs on a generated image folder', async () => {
    const history = await main({ size: 24, epochs: 2 });
    expect(history.history.loss).toHaveLength(2);
    expect(history.history.val_acc ?? history.history.val_accuracy).toHaveLength(2);
    for (const v of history.history.loss ?? []) expect(Number.isFinite(v as number)).toBe(true);
  });
});

describe('examples/ablation.ts', () => {
  it('runs the reference arms and its own arm from examples/arms.ts on two processes, and writes the report', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, { classes: 2, perClass: 6, seed: 3, minSide: 10, maxSide: 16 });
    const html = await ablation(
      { data, seeds: [1], epochs: 1, size: 8, batchSize: 4, backend: 'wasm', out: path.join(dir, 'out') },
      { pngs: false },
    );
    expect(path.basename(html)).toBe('report.html');
    const results = JSON.parse(await readFile(path.join(dir, 'out', 'results.json'), 'utf8')) as { runs: Array<{ arm: string }> };
    expect(results.runs.map((r) => r.arm).sort()).toEqual(['baseline', 'cutmix', 'cutmix-half']);
  }, 120_000);
});

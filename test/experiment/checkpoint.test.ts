/**
 * Epoch checkpoints are written behind the training (train.ts): an epoch is reported only once its
 * checkpoint is on disk, and a write that fails fails the run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type AblationConfig } from '../../src/experiment/config.js';
import { prepareAblation } from '../../src/experiment/runner.js';
import { trainRun, type TrainEvent } from '../../src/experiment/train.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';

async function prepared(seed: number) {
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
  const p = await prepareAblation(config);
  return { dir, p, arm: p.registry.get('baseline') };
}

describe('epoch checkpoints', () => {
  it('reports an epoch only once its checkpoint is on disk and holds that epoch', async () => {
    const { dir, p, arm } = await prepared(3);
    const file = path.join(dir, 'baseline-s1.checkpoint.json');
    const seen: number[] = [];
    const record = await trainRun(p.ctx, arm, 1, {
      checkpoint: file,
      keepCheckpoint: true,
      onEvent: (e: TrainEvent) => {
        if (e.type !== 'epoch') return;
        const saved = JSON.parse(readFileSync(file, 'utf8')) as { epochs: unknown[] };
        seen.push(saved.epochs.length);
        expect(saved.epochs.length).toBe(e.record.epoch);
      },
    });
    expect(record?.epochs.length).toBe(3);
    expect(seen).toEqual([1, 2, 3]);
  }, 60_000);

  it('fails the run when a checkpoint cannot be written, and reports no epoch as saved', async () => {
    const { dir, p, arm } = await prepared(4);
    const file = path.join(dir, 'no-such-folder', 'baseline-s1.checkpoint.json');
    const epochs: number[] = [];
    const run = trainRun(p.ctx, arm, 1, { checkpoint: file, onEvent: (e) => e.type === 'epoch' && epochs.push(e.record.epoch) });
    await expect(run).rejects.toThrow(/ENOENT/);
    expect(epochs).toEqual([]);
  }, 60_000);
});

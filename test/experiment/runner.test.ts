import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { accelerator } from '../../src/core/native.js';
import { augmentedBatches, defaultArmRegistry } from '../../src/experiment/plan/arms.js';
import { DEFAULT_CONFIG, type AblationConfig } from '../../src/experiment/plan/config.js';
import { openImageFolderData } from '../../src/experiment/data/data.js';
import { InputError } from '../../src/experiment/errors.js';
import { decodeBits } from '../../src/experiment/record.js';
import { mixup } from '../../src/operators/index.js';
import { runAblation } from '../../src/experiment/run/runAblation.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';
import { tinyAblation } from './helpers.js';

describe('runAblation', () => {
  it('gives the same numbers for the same seeds, and runs user arms from an extended registry', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, { classes: 2, perClass: 10, seed: 5, minSide: 12, maxSide: 20 });
    const registry = defaultArmRegistry().with({
      name: 'mixup-strong',
      summary: 'mixup alpha 1',
      build: (seed, o) => [...augmentedBatches(seed, o), mixup({ alpha: 1, seed })],
    });
    const config: AblationConfig = {
      ...DEFAULT_CONFIG,
      data,
      arms: ['mixup-strong'],
      seeds: [4],
      epochs: 2,
      size: 8,
      batchSize: 4,
      shuffleWindow: 8,
      backend: 'wasm',
      out: path.join(dir, 'a'),
    };
    const a = await runAblation(config, { registry });
    const b = await runAblation({ ...config, out: path.join(dir, 'b') }, { registry });
    const metrics = (r: typeof a) => r.results.runs.map((x) => x.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]));
    expect(a.trained).toBe(1);
    expect(metrics(a)).toEqual(metrics(b));
    expect(a.results.runs[0]!.pipeline.train).toContain('mixup({"alpha":1,"seed":4})');
    expect(a.results.data.trainCount + a.results.data.validationCount + (a.results.data.testCount ?? 0)).toBe(20);
    expect(a.results.data.testCount).toBeGreaterThan(0); // the default holds out a test split
  });

  it('--threads changes neither the numbers nor the config hash; the kernels (here: without the addon) change the hash', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, { classes: 2, perClass: 10, seed: 6, minSide: 12, maxSide: 20 });
    const config: AblationConfig = {
      ...DEFAULT_CONFIG,
      data,
      arms: ['baseline'],
      seeds: [2],
      epochs: 2,
      size: 16,
      batchSize: 4,
      backend: 'wasm',
      out: path.join(dir, 'one'),
    };
    const one = await runAblation(config, { threads: 1 });
    const two = await runAblation({ ...config, out: path.join(dir, 'two') }, { threads: 2 });
    const addon = accelerator.addon;
    accelerator.addon = undefined;
    let plain: Awaited<ReturnType<typeof runAblation>>;
    try {
      plain = await runAblation({ ...config, out: path.join(dir, 'plain') }, { threads: 1 });
    } finally {
      accelerator.addon = addon;
    }
    const hash = (r: typeof one) => r.results.runs[0]!.configHash;
    const metrics = (r: typeof one) => r.results.runs.map((x) => x.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]));
    expect(hash(two)).toBe(hash(one));
    expect(metrics(two)).toEqual(metrics(one));
    if (addon !== undefined) expect(hash(plain)).not.toBe(hash(one));
  });

  it('trains on any data set openDataset recognises (CIFAR-10 binary here), split by origin', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'cifar');
    await mkdir(data);
    const records = 40;
    const bytes = new Uint8Array(records * 3073);
    for (let r = 0; r < records; r++) {
      bytes[r * 3073] = r % 10;
      for (let i = 1; i < 3073; i++) bytes[r * 3073 + i] = (r * 31 + i * 7) % 256;
    }
    await writeFile(path.join(data, 'data_batch_1.bin'), bytes);
    const run = await runAblation({
      ...DEFAULT_CONFIG,
      data,
      arms: ['baseline', 'cutmix'],
      seeds: [1],
      epochs: 1,
      size: 8,
      batchSize: 8,
      shuffleWindow: 8,
      backend: 'wasm',
      out: path.join(dir, 'out'),
    });
    expect(run.results.data.kind).toBe('cifar');
    expect(run.results.data.classes).toHaveLength(10);
    // No test_batch.bin: the default --test-split is cut from the data batches.
    expect(run.results.data.trainCount + run.results.data.validationCount + (run.results.data.testCount ?? 0)).toBe(records);
    expect(run.results.data.testSource).toMatch(/cut from the data/);
    expect(run.results.data.validationCount).toBeGreaterThan(0);
    expect(run.results.runs).toHaveLength(2);
    // Counts from the predictions: integers, the accuracies their ratios, one bit per test image.
    for (const r of run.results.runs) {
      const test = r.test!;
      expect(Number.isInteger(test.correct)).toBe(true);
      expect(test.accuracy).toBe(test.correct! / test.images);
      const bits = decodeBits(test.bits!, test.images);
      expect(bits.reduce<number>((a, b) => a + b, 0)).toBe(test.correct);
      for (const e of r.epochs) {
        expect(e.valImages).toBe(run.results.data.validationCount);
        expect(e.valAccuracy).toBe(e.valCorrect! / e.valImages!);
      }
    }
    expect(run.results.headline?.contrasts.map((c) => `${c.arm}-${c.reference}`)).toEqual(['cutmix-baseline']);
  });

  it('fails with an InputError for unknown arms and bad data, before any training', async () => {
    const dir = await tempDir();
    await expect(runAblation({ ...DEFAULT_CONFIG, data: dir, arms: ['nope'], out: dir })).rejects.toThrow(/unknown arm 'nope'/);
    await expect(runAblation({ ...DEFAULT_CONFIG, data: path.join(dir, 'missing'), out: dir })).rejects.toBeInstanceOf(InputError);
    await expect(openImageFolderData(dir, { validationSplit: 0.2 })).rejects.toThrow(/holds no class folders/);
  });

  it('a stopped run says where a rerun resumes: after its last checkpointed epoch, or afresh', async () => {
    const { dir, config } = await tinyAblation(8);
    /** Stops in epoch `at`'s first batch; the run-stopped event. */
    const stopIn = async (at: number, out: string): Promise<unknown> => {
      const stop = new AbortController();
      let stopped: unknown;
      const r = await runAblation(
        { ...config, out: path.join(dir, out) },
        {
          signal: stop.signal,
          onProgress: (e) => {
            if (e.type === 'batch' && e.epoch === at) stop.abort();
            if (e.type === 'run-stopped') stopped = e;
          },
        },
      );
      expect(r.interrupted).toBe(true);
      return stopped;
    };
    expect(await stopIn(2, 'two')).toEqual({ type: 'run-stopped', arm: 'baseline', seed: 1, checkpointed: 1, epochs: 3 });
    expect(await stopIn(1, 'one')).toEqual({ type: 'run-stopped', arm: 'baseline', seed: 1, checkpointed: 0, epochs: 3 });
  });
});

/**
 * Epoch checkpoints are written behind the training (train.ts): an epoch is reported only once its
 * checkpoint is on disk, and a write that fails fails the run. The binary format (checkpoint.ts)
 * round-trips exactly, and a damaged or former-format file is said and never loaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointFile } from '../../src/experiment/plan/identity.js';
import { decodeCheckpoint, encodeCheckpoint, removeCheckpoint, type Checkpoint } from '../../src/experiment/train/checkpoint.js';
import { prepareAblation } from '../../src/experiment/train/prepare.js';
import { trainRun, type TrainEvent } from '../../src/experiment/train/train.js';
import { tinyAblation } from './helpers.js';

async function prepared(seed: number) {
  const { dir, config } = await tinyAblation(seed);
  const p = await prepareAblation(config);
  return { dir, p, arm: p.registry.get('baseline') };
}

describe('epoch checkpoints', () => {
  it('reports an epoch only once its checkpoint is on disk and holds that epoch', async () => {
    const { dir, p, arm } = await prepared(3);
    const file = checkpointFile(dir, 'baseline', 1);
    const seen: number[] = [];
    const record = await trainRun(p.ctx, arm, 1, {
      checkpoint: file,
      keepCheckpoint: true,
      onEvent: (e: TrainEvent) => {
        if (e.type !== 'epoch') return;
        const saved = decodeCheckpoint(readFileSync(file));
        if (typeof saved === 'string') throw new Error(saved);
        seen.push(saved.epochs.length);
        expect(saved.epochs.length).toBe(e.record.epoch);
      },
    });
    expect(record?.epochs.length).toBe(3);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('fails the run when a checkpoint cannot be written, and reports no epoch as saved', async () => {
    const { dir, p, arm } = await prepared(4);
    const file = checkpointFile(path.join(dir, 'no-such-folder'), 'baseline', 1);
    const epochs: number[] = [];
    const run = trainRun(p.ctx, arm, 1, { checkpoint: file, onEvent: (e) => e.type === 'epoch' && epochs.push(e.record.epoch) });
    await expect(run).rejects.toThrow(/ENOENT/);
    expect(epochs).toEqual([]);
  });

  it('a damaged checkpoint, or one of the former JSON format, is said and not loaded; the run starts afresh', async () => {
    const { dir, p, arm } = await prepared(5);
    const metrics = (r: Awaited<ReturnType<typeof trainRun>>) =>
      r?.epochs.map(({ loss, accuracy, valLoss, valAccuracy }) => ({ loss, accuracy, valLoss, valAccuracy }));
    const fresh = await trainRun(p.ctx, arm, 1, {});
    const file = checkpointFile(dir, 'baseline', 1);
    const stop = new AbortController();
    const stopped = await trainRun(p.ctx, arm, 1, {
      checkpoint: file,
      signal: stop.signal,
      onEvent: (e) => e.type === 'batch' && e.epoch === 2 && stop.abort(),
    });
    expect(stopped).toBeUndefined();
    const partial = readFileSync(file);
    /** Trains the run over `bytes` as its checkpoint; what it said of the checkpoint. */
    const over = async (bytes: Uint8Array): Promise<string[]> => {
      await writeFile(file, bytes);
      const said: string[] = [];
      const record = await trainRun(p.ctx, arm, 1, {
        checkpoint: file,
        onEvent: (e) => {
          if (e.type === 'checkpoint-ignored') said.push(e.reason);
          if (e.type === 'resume') said.push(`resumed after epoch ${e.epoch}`);
        },
      });
      expect(metrics(record)).toEqual(metrics(fresh));
      return said;
    };
    expect(await over(partial)).toEqual(['resumed after epoch 1']); // the control: it does load
    for (const [bytes, reason] of [
      [partial.subarray(0, partial.length - 5), /is truncated \(tensor \S+ ends at byte \d+ of \d+\)/],
      [Buffer.concat([partial, Buffer.from([0])]), /is damaged \(1 bytes past its last tensor\)/],
      [Buffer.from('{"format":"mixstream-checkpoint/1"}'), /is not a mixstream checkpoint/],
    ] as const) {
      const said = await over(bytes);
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(reason);
      expect(said[0]).toContain(file);
      expect(said[0]).toMatch(/; starting afresh$/);
    }
    // A run killed under the former format (JSON, in <name>.checkpoint.json): named, not loaded, removed with the run's.
    await rm(file);
    await writeFile(`${file}.json`, JSON.stringify({ format: 'mixstream-checkpoint/1' }));
    const said: string[] = [];
    const record = await trainRun(p.ctx, arm, 1, {
      checkpoint: file,
      onEvent: (e) => e.type === 'checkpoint-ignored' && said.push(e.reason),
    });
    expect(metrics(record)).toEqual(metrics(fresh));
    expect(said).toEqual([`checkpoint ${file}.json is of an older format (mixstream-checkpoint/1); starting afresh`]);
    await removeCheckpoint(file);
    expect(existsSync(`${file}.json`)).toBe(false);
  }, 120_000);

  it('round-trips every value, dtype and shape bit for bit, and refuses what does not add up', () => {
    const floats = new Float32Array([0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 3.4e38, 1e-45]);
    const c: Checkpoint = {
      key: 'k',
      epochs: [],
      seconds: 1.25,
      weights: [{ name: '0', shape: [7], dtype: 'float32', values: floats }],
      optimizer: [{ name: 'm', shape: [2, 0], dtype: 'float32', values: new Float32Array(0) }],
      extras: [{ name: 'i', shape: [3], dtype: 'int32', values: new Int32Array([-1, 0, 2 ** 31 - 1]) }],
      mixing: { batches: 3, mixedBatches: 2, barelyMixedBatches: 1, histogram: [0, 2, 1] },
    };
    const bytes = encodeCheckpoint(c);
    const back = decodeCheckpoint(bytes);
    if (typeof back === 'string') throw new Error(back);
    expect(back).toEqual(c);
    expect(Buffer.from((back.weights[0]?.values as Float32Array).buffer)).toEqual(Buffer.from(floats.buffer)); // -0 and NaN bits too
    expect(back.extras[0]?.values).toBeInstanceOf(Int32Array);
    const header = bytes.readUInt32LE(4);
    const lying = Buffer.from(bytes);
    lying.writeUInt32LE(header + 1000, 4);
    expect(decodeCheckpoint(lying)).toMatch(/^truncated \(a \d+-byte header/);
    const notJson = Buffer.from(bytes);
    notJson[8] = 0x7b + 1;
    expect(decodeCheckpoint(notJson)).toMatch(/^damaged \(its header: /);
  });
});

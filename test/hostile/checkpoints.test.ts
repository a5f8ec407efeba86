/**
 * Checkpoints verified before use (issue 23, fault 5): a checkpoint that decodes but holds NaN or
 * infinite values, Adam moments swapped between weights, an int32 weight, a bad epoch list or a
 * payload that fails its checksum, and one that is a FIFO or a link out of its folder (/dev/zero,
 * /etc/passwd), is named in one line, set aside, and the run trains afresh to the numbers of a run
 * that never had a checkpoint: never resumed with garbage, never a failure on every rerun.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointFile } from '../../src/experiment/plan/identity.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../src/experiment/train/checkpoint.js';
import { prepareAblation, type Prepared } from '../../src/experiment/train/prepare.js';
import { trainRun } from '../../src/experiment/train/train.js';
import { tinyAblation } from '../experiment/helpers.js';
import { fifoAt } from './corpus.js';
import { poisonCheckpoint, type CheckpointPoison } from './store.js';

type Metrics = { loss: number; accuracy: number; valLoss: number; valAccuracy: number }[] | undefined;
const metrics = (r: Awaited<ReturnType<typeof trainRun>>): Metrics =>
  r?.epochs.map(({ loss, accuracy, valLoss, valAccuracy }) => ({ loss, accuracy, valLoss, valAccuracy }));

let dir = '';
let p: Prepared;
let fresh: Metrics;
let good: Checkpoint;
let file = '';

beforeAll(async () => {
  const t = await tinyAblation(11);
  dir = t.dir;
  p = await prepareAblation(t.config);
  const arm = p.registry.get('baseline');
  fresh = metrics(await trainRun(p.ctx, arm, 1, {}));
  file = checkpointFile(dir, 'baseline', 1);
  const stop = new AbortController();
  await trainRun(p.ctx, arm, 1, {
    checkpoint: file,
    signal: stop.signal,
    onEvent: (e) => e.type === 'batch' && e.epoch === 2 && stop.abort(),
  });
  const c = decodeCheckpoint(readFileSync(file));
  if (typeof c === 'string') throw new Error(c);
  good = c;
}, 120_000);

/** Trains the run over whatever `place` puts at the checkpoint's path; what it said, and whether the file was set aside. */
async function over(place: () => Promise<void>): Promise<{ said: string[]; asideLeft: boolean }> {
  for (const name of await readdir(dir)) if (name.startsWith('baseline-s1.checkpoint')) await rm(path.join(dir, name), { force: true });
  await place();
  const said: string[] = [];
  const record = await trainRun(p.ctx, p.registry.get('baseline'), 1, {
    checkpoint: file,
    onEvent: (e) => {
      if (e.type === 'checkpoint-ignored') said.push(e.reason);
      if (e.type === 'resume') said.push(`resumed after epoch ${e.epoch}`);
    },
  });
  expect(metrics(record)).toEqual(fresh); // trained afresh, to a fresh run's numbers
  const asideLeft = (await readdir(dir)).some((n) => /^baseline-s1\.checkpoint\.damaged-/.test(n));
  return { said, asideLeft };
}

describe('checkpoints verified before use', () => {
  it('the control: an untouched checkpoint is resumed', async () => {
    expect((await over(() => writeFile(file, encodeCheckpoint(good)))).said).toEqual(['resumed after epoch 1']);
  });

  it.each<[CheckpointPoison, RegExp]>([
    ['nan-weights', /tensor 0 holds NaN or infinite values/],
    ['inf-moment', /tensor \S+ holds NaN or infinite values/],
    ['swapped-moments', /optimizer tensor \S+ is [\dx]+, its weight [\dx]+/],
    ['int32-weight', /weight 0 is int32, not float32/],
    ['too-many-epochs', /holding 6 epochs, more than the run's 3/],
    ['misnumbered-epochs', /epoch 1 is numbered 2/],
  ])(
    '%s: named, set aside, the run trains afresh',
    async (poison, reason) => {
      const { said, asideLeft } = await over(() => writeFile(file, encodeCheckpoint(poisonCheckpoint(good, poison))));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(file);
      expect(said[0]).toMatch(reason);
      expect(said[0]).toMatch(/; set aside as baseline-s1\.checkpoint\.damaged-\S+; starting afresh$/);
      expect(asideLeft).toBe(true);
    },
    60_000,
  );

  it('a payload that fails its checksum is named and set aside', async () => {
    const bytes = encodeCheckpoint(good);
    bytes[bytes.length - 3]! ^= 0x40;
    const { said } = await over(() => writeFile(file, bytes));
    expect(said[0]).toMatch(/checksum does not match/);
  });

  it.each<[string, (f: string) => Promise<void>, RegExp]>([
    ['a FIFO', async (f) => fifoAt(f), /is a FIFO \(named pipe\), not a regular file/],
    ['a link to /dev/zero', (f) => symlink('/dev/zero', f), /is a character device, not a regular file/],
    ['a link to /etc/passwd', (f) => symlink('/etc/passwd', f), /is a link to '\/etc\/passwd', outside its folder/],
  ])(
    '%s as the checkpoint is refused without a read, named, and the run trains afresh',
    async (_, make, reason) => {
      const { said, asideLeft } = await over(() => make(file));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(file);
      expect(said[0]).toMatch(reason);
      expect(asideLeft).toBe(true); // the link or FIFO was set aside: a rerun does not meet it again
      expect(lstatSync(file).isFile()).toBe(true); // what is there now is the run's own checkpoint
    },
    60_000,
  );
});

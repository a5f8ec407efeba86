import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdxHeader } from '../../src/core/idx.js';
import { encodeExample } from '../../src/core/protobuf.js';
import { encodeTfrecord } from '../../src/core/tfrecordFrame.js';
import type { EncodedSample, ImageSample } from '../../src/core/types.js';
import { identityOf } from '../../src/flow/identity.js';
import { shard } from '../../src/operators/shard.js';
import { detectDataset, openDataset } from '../../src/sources/detect.js';

type Any = EncodedSample | ImageSample;
const all = (o: Observable<EncodedSample> | Observable<ImageSample>): Promise<Any[]> =>
  lastValueFrom((o as Observable<Any>).pipe(toArray()));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-detect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const put = async (rel: string, data: string | Uint8Array): Promise<string> => {
  const f = path.join(dir, rel);
  await mkdir(path.dirname(f), { recursive: true });
  await writeFile(f, data);
  return f;
};
const record = (label: number): Uint8Array =>
  encodeTfrecord(encodeExample({ image: { bytes: [Uint8Array.of(label)] }, label: { int64: [label] } }));

describe('detectDataset / openDataset', () => {
  it('TFRecord: by name, by header bytes, by folder; classes from label.labels.txt', async () => {
    const shard = await put('tfds/ds-train.tfrecord-00000-of-00001', Buffer.concat([record(0), record(2)]));
    const unnamed = await put('raw/data.dat', Buffer.concat([record(1)]));
    expect(await detectDataset(shard)).toEqual({ kind: 'tfrecord', shards: [shard] });
    expect(await detectDataset(unnamed)).toEqual({ kind: 'tfrecord', shards: [unnamed] });
    expect(await detectDataset(path.dirname(shard))).toEqual({ kind: 'tfrecord', shards: [shard] });
    await expect(openDataset(shard)).rejects.toThrow(/option 'numClasses'/);
    await put('tfds/label.labels.txt', 'a\nb\nc\n');
    const opened = await openDataset(path.join(dir, 'tfds'));
    expect(opened.decoded).toBe(false);
    expect(await opened.classes).toEqual(['a', 'b', 'c']);
    expect((await all(opened.observable)).map((s) => [s.label, s.numClasses]).sort()).toEqual([
      [0, 3],
      [2, 3],
    ]);
  });

  it('CIFAR, MNIST (gz, fashion), manifest, image folder', async () => {
    const row = Buffer.alloc(3073, 0);
    row[0] = 4;
    await put('c10/cifar-10-batches-bin/data_batch_1.bin', row);
    const c = await openDataset(path.join(dir, 'c10'));
    expect(c.dataset).toMatchObject({ kind: 'cifar', variant: 'cifar10' });
    expect(c.decoded).toBe(true);
    expect((await c.classes)[4]).toBe('deer');
    expect((await all(c.observable)).map((s) => s.label)).toEqual([4]);

    const images = gzipSync(Buffer.concat([encodeIdxHeader([2, 2, 2]), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7])]));
    const labels = gzipSync(Buffer.concat([encodeIdxHeader([2]), Buffer.from([9, 1])]));
    const img = await put('fashion-mnist/train-images-idx3-ubyte.gz', images);
    await put('fashion-mnist/train-labels-idx1-ubyte.gz', labels);
    await put('odd/imgs.ubyte', gzipSync(Buffer.concat([encodeIdxHeader([2, 2, 2]), Buffer.alloc(8)])));
    expect(await detectDataset(img)).toMatchObject({
      kind: 'mnist',
      labels: path.join(dir, 'fashion-mnist', 'train-labels-idx1-ubyte.gz'),
      fashion: true,
    });
    expect(await detectDataset(path.join(dir, 'odd', 'imgs.ubyte'))).toMatchObject({ kind: 'mnist' }); // by (inflated) magic number
    const m = await openDataset(path.join(dir, 'fashion-mnist'), { shuffle: false });
    expect((await all(m.observable)).map((s) => [s.label, 'channels' in s ? s.channels : 0])).toEqual([
      [9, 1],
      [1, 1],
    ]);
    expect((await m.classes)[9]).toBe('Ankle boot');

    const csv = await put('man/list.csv', 'path,label\na.jpg,cat\nb.jpg,ant\n');
    const man = await openDataset(csv, { shuffle: false });
    expect(man.dataset).toEqual({ kind: 'manifest', file: csv, format: 'csv' });
    expect(await man.classes).toEqual(['ant', 'cat']);
    expect((await all(man.observable)).map((s) => s.label)).toEqual([1, 0]);

    await put('folder/dog/1.jpg', 'x');
    await put('folder/cat/2.png', 'x');
    const f = await openDataset(path.join(dir, 'folder'));
    expect(f.dataset).toEqual({ kind: 'imageFolder', root: path.join(dir, 'folder') });
    expect(await f.classes).toEqual(['cat', 'dog']);

    await put('junk/readme.txt', 'hello');
    await expect(detectDataset(path.join(dir, 'junk', 'readme.txt'))).rejects.toThrow(/is not a TFRecord, CIFAR, IDX or manifest file/);
    await expect(detectDataset(path.join(dir, 'junk'))).rejects.toThrow(/holds no TFRecord shards/);
    await expect(detectDataset(path.join(dir, 'nothing'))).rejects.toThrow(/does not exist/);
  });

  it('every source has an identity (for cache()), whose fingerprint follows the data', async () => {
    for (const target of ['tfds', 'c10', 'fashion-mnist', path.join('man', 'list.csv'), 'folder']) {
      const { observable } = await openDataset(path.join(dir, target));
      const id = identityOf(observable);
      expect(id, target).toBeDefined();
      expect(await id?.fingerprint()).toMatch(/^[0-9a-f]{32}$/);
      const sharded = identityOf((observable as Observable<Any>).pipe(shard(2, 1)));
      expect(sharded?.description).toMatch(/ -> shard\(2, 1\)$/);
    }
    const shard0 = path.join(dir, 'tfds', 'ds-train.tfrecord-00000-of-00001');
    const before = await identityOf((await openDataset(shard0, { numClasses: 3 })).observable)?.fingerprint();
    await writeFile(shard0, Buffer.concat([record(0), record(1), record(2)]));
    const after = await identityOf((await openDataset(shard0, { numClasses: 3 })).observable)?.fingerprint();
    expect(after).not.toBe(before);
  });
});

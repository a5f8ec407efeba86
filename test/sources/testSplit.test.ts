import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdxHeader } from '../../src/core/idx.js';
import { encodeExample } from '../../src/core/protobuf.js';
import { encodeTfrecord } from '../../src/core/tfrecordFrame.js';
import type { EncodedSample, ImageSample } from '../../src/core/types.js';
import { detectDataset, findTestSplit, openDetected, type FoundTestSplit } from '../../src/sources/detect.js';
import { readManifest } from '../../src/sources/manifest.js';
import { tfrecordShardSplit } from '../../src/sources/tfrecord.js';

type Any = EncodedSample | ImageSample;
const all = (o: Observable<EncodedSample> | Observable<ImageSample>): Promise<Any[]> =>
  lastValueFrom((o as Observable<Any>).pipe(toArray()));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-testsplit-'));
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
/** An IDX pair of n 2x2 images, labels i % 10, written as `<prefix>-images-idx3-ubyte` / `<prefix>-labels-idx1-ubyte`. */
async function idxPair(folder: string, prefix: 'train' | 't10k', n: number): Promise<void> {
  await put(path.join(folder, `${prefix}-images-idx3-ubyte`), Buffer.concat([encodeIdxHeader([n, 2, 2]), Buffer.alloc(n * 4, 7)]));
  await put(
    path.join(folder, `${prefix}-labels-idx1-ubyte`),
    Buffer.concat([encodeIdxHeader([n]), Buffer.from(Array.from({ length: n }, (_, i) => i % 10))]),
  );
}
/** A CIFAR-10 batch of n rows, labels i % 10. */
const cifarRows = (n: number): Uint8Array => {
  const b = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) b[i * 3073] = i % 10;
  return b;
};
const record = (label: number): Uint8Array =>
  encodeTfrecord(encodeExample({ image: { bytes: [Uint8Array.of(label)] }, label: { int64: [label] } }));

describe('findTestSplit: the test split a data set names', () => {
  it('IDX: the t10k-* pair beside train-*, never the training files', async () => {
    await idxPair('mnist', 'train', 12);
    await idxPair('mnist', 't10k', 5);
    const found = await findTestSplit(path.join(dir, 'mnist'));
    expect(found?.dataset).toMatchObject({ kind: 'mnist', images: path.join(dir, 'mnist', 't10k-images-idx3-ubyte') });
    expect(found?.description).toMatch(/t10k-images-idx3-ubyte.*official test files/);
    const test = await all((await openDetected((found as FoundTestSplit).dataset, { shuffle: false })).observable);
    expect(test).toHaveLength(5);
    expect(test.every((s) => s.origin.includes('t10k-images'))).toBe(true);
    // The training side stays train-*.
    expect(await detectDataset(path.join(dir, 'mnist'))).toMatchObject({ images: path.join(dir, 'mnist', 'train-images-idx3-ubyte') });
    await idxPair('mnist-no-test', 'train', 4);
    expect(await findTestSplit(path.join(dir, 'mnist-no-test'))).toBeUndefined();
  });

  it('CIFAR-10: test_batch.bin; CIFAR-100: test.bin', async () => {
    await put('c10/data_batch_1.bin', cifarRows(6));
    await put('c10/data_batch_2.bin', cifarRows(6));
    await put('c10/test_batch.bin', cifarRows(3));
    const c10 = await findTestSplit(path.join(dir, 'c10'));
    expect(c10?.dataset).toMatchObject({ kind: 'cifar', variant: 'cifar10', files: [path.join(dir, 'c10', 'test_batch.bin')] });
    expect(await all((await openDetected((c10 as FoundTestSplit).dataset, { shuffle: false })).observable)).toHaveLength(3);
    const row100 = new Uint8Array(3074 * 2);
    await put('c100/train.bin', row100);
    await put('c100/test.bin', row100.subarray(0, 3074));
    expect((await findTestSplit(path.join(dir, 'c100')))?.dataset).toMatchObject({
      kind: 'cifar',
      variant: 'cifar100',
      files: [path.join(dir, 'c100', 'test.bin')],
    });
    await put('c10-train-only/data_batch_1.bin', cifarRows(2));
    expect(await findTestSplit(path.join(dir, 'c10-train-only'))).toBeUndefined();
  });

  it('TFRecord: shards named test are the test split and leave the training shards', async () => {
    expect(tfrecordShardSplit('/x/mnist-test.tfrecord-00000-of-00001')).toBe('test');
    expect(tfrecordShardSplit('test-00003.tfrec')).toBe('test');
    expect(tfrecordShardSplit('/x/mnist-train.tfrecord-00000-of-00001')).toBeUndefined();
    expect(tfrecordShardSplit('/x/contest-train.tfrecord')).toBeUndefined();
    const train = await put('tfds/ds-train.tfrecord-00000-of-00001', Buffer.concat([record(0), record(1)]));
    const test = await put('tfds/ds-test.tfrecord-00000-of-00001', record(1));
    expect(await detectDataset(path.join(dir, 'tfds'))).toEqual({ kind: 'tfrecord', shards: [train] });
    expect((await findTestSplit(path.join(dir, 'tfds')))?.dataset).toEqual({ kind: 'tfrecord', shards: [test] });
    await put('tfds-plain/a.tfrecord', record(0));
    expect(await findTestSplit(path.join(dir, 'tfds-plain'))).toBeUndefined();
  });

  it("manifests: a sibling test file, else a 'split' column's test rows (never training rows)", async () => {
    await put('man/a.png', 'x');
    await put('man/b.png', 'x');
    await put('man/c.png', 'x');
    const trainCsv = await put('man/train.csv', 'path,label\na.png,cat\nb.png,dog\n');
    await put('man/test.csv', 'path,label\nc.png,dog\n');
    const sibling = await findTestSplit(trainCsv);
    expect(sibling?.dataset).toEqual({ kind: 'manifest', file: path.join(dir, 'man', 'test.csv'), format: 'csv' });

    const withColumn = await put('col/all.csv', 'path,label,split\na.png,cat,train\nb.png,dog,TEST\nc.png,bird,train\n');
    const found = await findTestSplit(withColumn);
    expect(found?.dataset).toEqual({ kind: 'manifest', file: withColumn, format: 'csv', split: 'test' });
    const testRows = await all((await openDetected((found as FoundTestSplit).dataset, { shuffle: false })).observable);
    expect(testRows.map((s) => path.basename(s.origin))).toEqual(['b.png']);
    // Classes are counted over every row, so both sides index one list.
    expect(testRows[0]?.label).toBe(['bird', 'cat', 'dog'].indexOf('dog'));
    const trainRows = await all((await openDetected(await detectDataset(withColumn), { shuffle: false })).observable);
    expect(trainRows.map((s) => path.basename(s.origin))).toEqual(['a.png', 'c.png']);
    expect((await readManifest(withColumn)).splits).toEqual(['test', 'train']);

    const jsonl = await put('col/all.jsonl', '{"path":"a.png","label":0,"split":"train"}\n{"path":"b.png","label":1,"split":"test"}\n');
    expect((await readManifest(jsonl, { split: 'test' })).rows.map((r) => path.basename(r.path))).toEqual(['b.png']);
    const plain = await put('plain/m.csv', 'path,label\na.png,cat\n');
    expect(await findTestSplit(plain)).toBeUndefined();
    await expect(readManifest(plain, { split: 'test' })).rejects.toThrow(/has no test rows \(no 'split' column\)/);
  });
});

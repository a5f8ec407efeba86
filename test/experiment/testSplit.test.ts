import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { encodeIdxHeader } from '../../src/core/idx.js';
import { openImageFolderData, type AblationData } from '../../src/experiment/data/data.js';
import { openDetectedData } from '../../src/experiment/data/detected.js';
import { checkSplits } from '../../src/experiment/data/splits.js';
import { InputError } from '../../src/experiment/errors.js';
import type { SourceSample } from '../../src/experiment/data/pipeline.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';

const all = (o: Observable<SourceSample>): Promise<SourceSample[]> => lastValueFrom(o.pipe(toArray()));
const origins = async (data: AblationData, side: 'train' | 'validation' | 'test'): Promise<string[]> =>
  (
    await all(
      side === 'train' ? data.train(1) : side === 'validation' ? data.validation() : (data.test as () => Observable<SourceSample>)(),
    )
  ).map((s) => s.origin);

async function idxPair(folder: string, prefix: 'train' | 't10k', n: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, `${prefix}-images-idx3-ubyte`), Buffer.concat([encodeIdxHeader([n, 2, 2]), Buffer.alloc(n * 4, 9)]));
  await writeFile(
    path.join(folder, `${prefix}-labels-idx1-ubyte`),
    Buffer.concat([encodeIdxHeader([n]), Buffer.from(Array.from({ length: n }, (_, i) => i % 10))]),
  );
}
async function cifarBatch(file: string, n: number): Promise<void> {
  const b = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) b[i * 3073] = i % 10;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, b);
}
const oneLine = (e: unknown): boolean => e instanceof InputError && !e.message.includes('\n');

describe('the test split of ablation data', () => {
  it('IDX: the t10k-* images are the test split, whatever --test-split says; validation is cut from train-* only', async () => {
    const data = path.join(await tempDir(), 'fashion-mnist');
    await idxPair(data, 'train', 60);
    await idxPair(data, 't10k', 20);
    const opened = await openDetectedData(data, { validationSplit: 0.2, seeds: [1], testSplit: 0.15 });
    expect(opened.testCount).toBe(20);
    expect(opened.trainCount + opened.validationCount).toBe(60);
    expect(opened.testSource).toMatch(/^20 images: t10k-images-idx3-ubyte \+ t10k-labels-idx1-ubyte \(the official test files\)$/);
    const test = await origins(opened, 'test');
    expect(test).toHaveLength(20);
    expect(test.every((o) => o.startsWith(path.join(data, 't10k-images-idx3-ubyte#')))).toBe(true);
    const train = await origins(opened, 'train');
    const validation = await origins(opened, 'validation');
    expect([...train, ...validation].every((o) => o.includes('train-images'))).toBe(true);
    expect(new Set([...train, ...validation]).size).toBe(60);
  });

  it('CIFAR-10: test_batch.bin is the test split; data_batch_* gives training and validation', async () => {
    const data = path.join(await tempDir(), 'cifar');
    await cifarBatch(path.join(data, 'data_batch_1.bin'), 30);
    await cifarBatch(path.join(data, 'data_batch_2.bin'), 30);
    await cifarBatch(path.join(data, 'test_batch.bin'), 12);
    const opened = await openDetectedData(data, { validationSplit: 0.25, seeds: [1], testSplit: 0.15 });
    expect(opened.testCount).toBe(12);
    expect(opened.trainCount + opened.validationCount).toBe(60);
    expect(opened.testSource).toMatch(/test_batch\.bin \(the official cifar10 test batch\)/);
    const test = await origins(opened, 'test');
    expect(test.every((o) => o.startsWith(path.join(data, 'test_batch.bin#')))).toBe(true);
    expect((await origins(opened, 'validation')).every((o) => /data_batch_\d\.bin#/.test(o))).toBe(true);
  });

  it('a source without test data and --test-split: the split is cut from it, disjoint from training and validation', async () => {
    const data = path.join(await tempDir(), 'cifar-train-only');
    await cifarBatch(path.join(data, 'data_batch_1.bin'), 400);
    const opened = await openDetectedData(data, { validationSplit: 0.2, seeds: [1], testSplit: 0.25 });
    const n = { train: opened.trainCount, validation: opened.validationCount, test: opened.testCount ?? 0 };
    expect(n.train + n.validation + n.test).toBe(400);
    // Both are fractions of the whole: 80 and 100 expected, hash binomial spread ~ +-9.
    expect(Math.abs(n.validation - 80)).toBeLessThan(30);
    expect(Math.abs(n.test - 100)).toBeLessThan(30);
    expect(opened.testSource).toMatch(/cut from the data \(--test-split 0\.25/);
    const [train, validation, test] = await Promise.all([origins(opened, 'train'), origins(opened, 'validation'), origins(opened, 'test')]);
    expect([train.length, validation.length, test.length]).toEqual([n.train, n.validation, n.test]);
    expect(new Set([...train, ...validation, ...test]).size).toBe(400);
    // Without --test-split there is no test split, and no validation set stands in for one.
    const none = await openDetectedData(data, { validationSplit: 0.2, seeds: [1], testSplit: 0 });
    expect([none.testCount, none.test, none.testSource]).toEqual([undefined, undefined, undefined]);
  });

  it('a cut that leaves no test image fails in one line, before any training', async () => {
    const data = path.join(await tempDir(), 'tiny');
    await cifarBatch(path.join(data, 'data_batch_1.bin'), 3);
    const error = await openDetectedData(data, { validationSplit: 0.3, seeds: [1], testSplit: 0.01 }).catch((e: unknown) => e);
    expect(oneLine(error)).toBe(true);
    expect((error as Error).message).toMatch(/too few samples for a (test|validation) split/);
  });

  it('--val-split and --test-split are fractions of the whole: 0.5 + 0.6 is refused in one line', async () => {
    expect(() => checkSplits(0.5, 0.6)).toThrow(/--val-split 0\.5 and --test-split 0\.6 leave nothing to train on/);
    expect(() => checkSplits(0.2, 0.15)).not.toThrow();
    const folder = path.join(await tempDir(), 'folder');
    await writeSyntheticFolder(folder, { classes: 2, perClass: 40, seed: 3, minSide: 8, maxSide: 8 });
    await expect(openImageFolderData(folder, { validationSplit: 0.5, testSplit: 0.6 })).rejects.toThrow(/leave nothing to train on/);
    await expect(openDetectedData(folder, { validationSplit: 0.5, seeds: [1], testSplit: 0.6 })).rejects.toSatisfy(oneLine);
    // An image folder: 40 per class, test 25% = 10, validation 25% of the whole = 10, training 20.
    const opened = await openImageFolderData(folder, { validationSplit: 0.25, testSplit: 0.25 });
    expect([opened.trainCount, opened.validationCount, opened.testCount]).toEqual([40, 20, 20]);
  });

  it('--test PATH: any data set as the test split, with the training data classes; other classes fail in one line', async () => {
    const dir = await tempDir();
    await cifarBatch(path.join(dir, 'train', 'data_batch_1.bin'), 40);
    await cifarBatch(path.join(dir, 'train', 'test_batch.bin'), 5);
    await cifarBatch(path.join(dir, 'other', 'data_batch_1.bin'), 7);
    const opened = await openDetectedData(path.join(dir, 'train'), {
      validationSplit: 0.2,
      seeds: [1],
      testSplit: 0.15,
      test: path.join(dir, 'other'),
    });
    expect(opened.testCount).toBe(7);
    expect(opened.testSource).toBe(`7 images: --test ${path.join(dir, 'other')}`);
    expect(opened.trainCount + opened.validationCount).toBe(40);
    await idxPair(path.join(dir, 'digits'), 'train', 4);
    const folder = path.join(dir, 'folder');
    await writeSyntheticFolder(folder, { classes: 2, perClass: 4, seed: 1, minSide: 8, maxSide: 8 });
    const wrong = await openDetectedData(folder, { validationSplit: 0.25, seeds: [1], test: path.join(dir, 'digits') }).catch(
      (e: unknown) => e,
    );
    expect(oneLine(wrong)).toBe(true);
    expect((wrong as Error).message).toMatch(/are not the training data's/);
    await expect(openDetectedData(folder, { validationSplit: 0.25, seeds: [1], test: path.join(dir, 'missing') })).rejects.toThrow(
      /^--test: /,
    );
    await expect(openDetectedData(folder, { validationSplit: 0.25, seeds: [1], test: `${folder}/` })).rejects.toThrow(
      /is the training data itself/,
    );
  });
});

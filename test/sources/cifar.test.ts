import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSample } from '../../src/core/types.js';
import { cifar, cifarClassNames, CIFAR10_CLASSES, listCifarFiles } from '../../src/sources/cifar.js';

const all = <T>(o: Observable<T>): Promise<T[]> => lastValueFrom(o.pipe(toArray()));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-cifar-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pixel (y, x, c) of image `id`: distinct per channel so a CHW/HWC mix-up shows. */
const px = (id: number, y: number, x: number, c: number): number => (id * 37 + y * 5 + x * 3 + c * 101) & 0xff;

function rows(ids: number[], labelBytes: (id: number) => number[]): Buffer {
  const parts: Buffer[] = [];
  for (const id of ids) {
    const row = Buffer.alloc(labelBytes(id).length + 3072);
    labelBytes(id).forEach((b, i) => (row[i] = b));
    const at = labelBytes(id).length;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) row[at + c * 1024 + y * 32 + x] = px(id, y, x, c);
    parts.push(row);
  }
  return Buffer.concat(parts);
}

function expectImage(s: ImageSample, id: number): void {
  expect([s.height, s.width, s.channels]).toEqual([32, 32, 3]);
  for (const [y, x] of [
    [0, 0],
    [0, 31],
    [17, 4],
    [31, 31],
  ] as const)
    for (let c = 0; c < 3; c++) expect(s.image[(y * 32 + x) * 3 + c]).toBeCloseTo(px(id, y, x, c) / 255, 6);
}

describe('cifar', () => {
  it('reads CIFAR-10 batches exactly (labels, HWC pixels, origins) and class names', async () => {
    const d = path.join(dir, 'cifar-10-batches-bin');
    await mkdir(d);
    await writeFile(
      path.join(d, 'data_batch_1.bin'),
      rows([0, 1, 2], (id) => [id % 10]),
    );
    await writeFile(
      path.join(d, 'data_batch_2.bin'),
      rows([3, 4], (id) => [id % 10]),
    );
    await writeFile(
      path.join(d, 'test_batch.bin'),
      rows([9], () => [7]),
    );
    await writeFile(path.join(d, 'batches.meta.txt'), CIFAR10_CLASSES.map((c) => c.toUpperCase()).join('\n') + '\n\n');
    const out = await all(cifar(dir, { shuffle: false }));
    expect(out.map((s) => s.label)).toEqual([0, 1, 2, 3, 4]);
    expect(out.map((s) => path.basename(s.origin))).toEqual([
      'data_batch_1.bin#0',
      'data_batch_1.bin#1',
      'data_batch_1.bin#2',
      'data_batch_2.bin#0',
      'data_batch_2.bin#1',
    ]);
    out.forEach((s, i) => expectImage(s, i));
    expect(out.every((s) => s.numClasses === 10)).toBe(true);
    const test = await all(cifar(d, { split: 'test' }));
    expect(test.map((s) => s.label)).toEqual([7]);
    expectImage(test[0] as ImageSample, 9);
    expect((await cifarClassNames(d, 'cifar10'))[0]).toBe('AIRPLANE');
    expect(await cifarClassNames(dir, 'cifar10')).toEqual(CIFAR10_CLASSES);
  });

  it('shuffles across files, seeded per epoch, each epoch the whole set', async () => {
    const source = cifar(path.join(dir, 'cifar-10-batches-bin'), { seed: 3 });
    const e0 = await all(source);
    const e1 = await all(source);
    const again = await all(cifar(path.join(dir, 'cifar-10-batches-bin'), { seed: 3 }));
    expect(e0.map((s) => s.origin).sort()).toEqual(e1.map((s) => s.origin).sort());
    expect(again.map((s) => s.origin)).toEqual(e0.map((s) => s.origin));
    expect(e1[0]?.epoch).toBe(1);
    for (const s of e0) expectImage(s, s.label); // label = id here
  });

  it('reads CIFAR-100 fine and coarse labels, and class-name files', async () => {
    const d = path.join(dir, 'c100');
    await mkdir(d);
    await writeFile(
      path.join(d, 'train.bin'),
      rows([0, 1, 2], (id) => [id + 10, id * 30 + 5]),
    );
    await writeFile(path.join(d, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'));
    const fine = await all(cifar(d, { shuffle: false }));
    expect(fine.map((s) => [s.label, s.numClasses])).toEqual([
      [5, 100],
      [35, 100],
      [65, 100],
    ]);
    fine.forEach((s, i) => expectImage(s, i));
    const coarse = await all(cifar(path.join(d, 'train.bin'), { shuffle: false, labelMode: 'coarse' }));
    expect(coarse.map((s) => [s.label, s.numClasses])).toEqual([
      [10, 20],
      [11, 20],
      [12, 20],
    ]);
    expect((await listCifarFiles(d)).variant).toBe('cifar100');
    expect((await cifarClassNames(d, 'cifar100'))[3]).toBe('fine3');
    expect((await cifarClassNames(d, 'cifar100', 'coarse'))[3]).toBe('3');
  });

  it('a size that is not a multiple of the row: error naming file and size; a bad label names the row', async () => {
    const f = path.join(dir, 'cut', 'data_batch_1.bin');
    await mkdir(path.dirname(f));
    await writeFile(f, rows([0, 1], () => [1]).subarray(0, 3073 * 2 - 100));
    await expect(all(cifar(f))).rejects.toThrow(`cifar: ${f}: size 6046 bytes is not a positive multiple of the cifar10 row size 3073`);
    const g = path.join(dir, 'cut', 'data_batch_2.bin');
    await writeFile(
      g,
      rows([0, 1, 2], (id) => [id === 2 ? 55 : 1]),
    );
    await expect(all(cifar(g, { shuffle: false }))).rejects.toThrow(`${g}#2: label byte 55 is outside [0, 10)`);
    // CIFAR-100 data read as CIFAR-10: the size gives it away.
    await expect(all(cifar(path.join(dir, 'c100', 'train.bin'), { variant: 'cifar10' }))).rejects.toThrow(
      /size 9222 bytes is not a positive multiple of the cifar10 row size 3073/,
    );
    expect(() => cifar(dir, { labelMode: 'middle' as never })).toThrow(/option 'labelMode'/);
    await expect(all(cifar(path.join(dir, 'missing')))).rejects.toThrow(/missing' does not exist/);
  });
});

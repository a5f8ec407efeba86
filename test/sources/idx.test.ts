import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { lastValueFrom, take, tap, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdxHeader } from '../../src/core/idx.js';
import { FASHION_MNIST_CLASSES, mnist, mnistClassNames } from '../../src/sources/idx.js';

const all = <T>(o: Observable<T>): Promise<T[]> => lastValueFrom(o.pipe(toArray()));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mixstream-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const N = 7;
const R = 5;
const C = 4;
const pixel = (i: number, p: number): number => (i * 29 + p * 11) & 0xff;
const images = (n = N): Buffer =>
  Buffer.concat([
    encodeIdxHeader([n, R, C]),
    Buffer.from(Array.from({ length: n * R * C }, (_, k) => pixel(Math.floor(k / (R * C)), k % (R * C)))),
  ]);
const labels = (n = N): Buffer => Buffer.concat([encodeIdxHeader([n]), Buffer.from(Array.from({ length: n }, (_, i) => (i * 3) % 10))]);

async function folder(name: string, gz: boolean, img = images(), lab = labels(), prefix = 'train'): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, `${prefix}-images-idx3-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(img) : img);
  await writeFile(path.join(d, `${prefix}-labels-idx1-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(lab) : lab);
  return d;
}

describe('mnist (IDX)', () => {
  it('header bytes are as the format says', () => {
    expect([...encodeIdxHeader([60000, 28, 28])]).toEqual([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]);
    expect([...encodeIdxHeader([10])]).toEqual([0, 0, 8, 1, 0, 0, 0, 10]);
  });

  for (const gz of [false, true])
    it(`reads ${gz ? 'gzipped' : 'plain'} files back exactly`, async () => {
      const d = await folder(gz ? 'gz' : 'plain', gz);
      const out = await all(mnist(d, { shuffle: false }));
      expect(out).toHaveLength(N);
      out.forEach((s, i) => {
        expect([s.height, s.width, s.channels, s.numClasses, s.index]).toEqual([R, C, 1, 10, i]);
        expect(s.label).toBe((i * 3) % 10);
        expect([...s.image].map((v) => Math.round(v * 255))).toEqual(Array.from({ length: R * C }, (_, p) => pixel(i, p)));
        expect(s.origin).toBe(`${path.join(d, `train-images-idx3-ubyte${gz ? '.gz' : ''}`)}#${i}`);
      });
      const shuffled = await all(mnist(d, { seed: 5 }));
      expect(shuffled.map((s) => s.origin).sort()).toEqual(out.map((s) => s.origin).sort());
      for (const s of shuffled) {
        const i = Number(s.origin.split('#')[1]);
        expect(s.label).toBe((i * 3) % 10);
        expect(Math.round((s.image[3] as number) * 255)).toBe(pixel(i, 3));
      }
    });

  it('inflates gzip into no named file: the temp folder stays empty during an epoch, after one, and after an early unsubscribe', async () => {
    const d = await folder('gz2', true);
    // A temp folder of this test's own (os.tmpdir() reads TMPDIR on each call): what other tests
    // or processes leave in theirs cannot change the outcome.
    const tmp = await mkdtemp(path.join(dir, 'tmp-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const during: string[][] = [];
      const look = tap(() => during.push(readdirSync(tmp)));
      await all(mnist(d).pipe(look, take(2)));
      expect(await all(mnist(d).pipe(look))).toHaveLength(N);
      expect(during).toHaveLength(N + 2);
      for (const names of during) expect(names).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('test split and explicit files; Fashion-MNIST names', async () => {
    const d = await folder('t10k', false, images(3), labels(3), 't10k');
    expect((await all(mnist(d, { split: 'test', shuffle: false }))).map((s) => s.label)).toEqual([0, 3, 6]);
    const files = { images: path.join(d, 't10k-images-idx3-ubyte'), labels: path.join(d, 't10k-labels-idx1-ubyte') };
    expect(await all(mnist(files))).toHaveLength(3);
    expect(mnistClassNames(true)).toEqual(FASHION_MNIST_CLASSES);
    expect(mnistClassNames()[7]).toBe('7');
  });

  it('errors name the file: magic numbers, counts, truncation, corrupt gzip, bad labels', async () => {
    const cases: Array<[string, Buffer, Buffer, boolean, RegExp]> = [
      ['swapped', labels(), images(), false, /train-images-idx3-ubyte: magic number 0x00000801, expected 0x00000803/],
      ['counts', images(7), labels(6), false, /train-images-idx3-ubyte: holds 7 images but .*train-labels-idx1-ubyte' holds 6 labels/],
      [
        'truncimg',
        images().subarray(0, 16 + 3 * R * C + 2),
        labels(),
        false,
        /train-images-idx3-ubyte: has 78 bytes, its header \(7 x 5 x 4\) declares 156: truncated/,
      ],
      [
        'trunchead',
        images().subarray(0, 10),
        labels(),
        false,
        /train-images-idx3-ubyte: header declares 3 dimensions but the file has only 10 bytes/,
      ],
      ['trunclab', images(), labels().subarray(0, 12), false, /train-labels-idx1-ubyte: has 12 bytes, its header \(7\) declares 15/],
      [
        'badlabel',
        images(),
        Buffer.concat([encodeIdxHeader([N]), Buffer.from([1, 2, 3, 4, 12, 5, 6])]),
        false,
        /train-labels-idx1-ubyte#4: label 12 is outside \[0, 10\)/,
      ],
      ['gzcut', images(), labels(), true, /train-images-idx3-ubyte.gz: gzip data is corrupt or truncated/],
      [
        'gztrunc',
        images().subarray(0, 100),
        labels(),
        true,
        /train-images-idx3-ubyte.gz: inflates to 100 bytes, its header .* declares 156: truncated/,
      ],
    ];
    for (const [name, img, lab, gz, error] of cases) {
      const d = await folder(name, gz, img, lab);
      if (name === 'gzcut') {
        const z = gzipSync(img);
        await writeFile(path.join(d, 'train-images-idx3-ubyte.gz'), z.subarray(0, z.length - 20));
      }
      await expect(all(mnist(d, { shuffle: false })), name).rejects.toThrow(error);
    }
    await expect(all(mnist(path.join(dir, 'plain'), { split: 'test' }))).rejects.toThrow(/lacks t10k-images-idx3-ubyte/);
    expect(() => mnist(dir, { split: 'val' as never })).toThrow(/option 'split'/);
  });
});

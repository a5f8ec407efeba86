/** Every source checks headers and lengths before it reads or inflates, refuses special files, and keeps to its root. */
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdxHeader } from '../../src/core/idx.js';
import { encodeTfrecord } from '../../src/core/tfrecordFrame.js';
import { cifar } from '../../src/sources/cifar.js';
import { detectDataset } from '../../src/sources/detect.js';
import { mnist } from '../../src/sources/idx.js';
import { imageFolder, listImageFolder } from '../../src/sources/imageFolder.js';
import { manifest, readManifest } from '../../src/sources/manifest.js';
import { tfrecord } from '../../src/sources/tfrecord.js';
import { fifoAt, honestMnistGz, idxGzBomb, idxLabelsGz, manifestWithHole, scratchDir, socketAt, tfrecordLengthBomb } from './corpus.js';

let dir = '';
let remove = async (): Promise<void> => {};
beforeAll(async () => {
  ({ dir, remove } = await scratchDir('hostile-sources'));
});
afterAll(() => remove());

const all = <T>(o: Observable<T>): Promise<T[]> => lastValueFrom(o.pipe(toArray()), { defaultValue: [] });
const sub = async (name: string): Promise<string> => {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  return d;
};

describe('IDX: header checked before anything is inflated', () => {
  it('two 12000 x 12000 images in a small IDX.gz: refused by the pixel limit', async () => {
    const d = await sub('idx-pixels');
    const images = idxGzBomb(2, 12000, 12000);
    expect(images.length).toBeLessThan(4096);
    await writeFile(path.join(d, 'train-images-idx3-ubyte.gz'), images);
    await writeFile(path.join(d, 'train-labels-idx1-ubyte.gz'), idxLabelsGz(2));
    await expect(all(mnist(d))).rejects.toThrow(
      /train-images-idx3-ubyte\.gz: header declares an image of 12000x12000 = 144000000 pixels, over the limit of 40000000/,
    );
  });

  it('a small IDX.gz declaring gigabytes: refused as more than the gzip can hold, and by maxInflatedBytes; nothing left in the temp folder', async () => {
    const d = await sub('idx-bytes');
    await writeFile(path.join(d, 'train-images-idx3-ubyte.gz'), idxGzBomb(4_000_000, 28, 28));
    await writeFile(path.join(d, 'train-labels-idx1-ubyte.gz'), idxLabelsGz(10));
    const tmp = await sub('idx-bytes-tmp');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      await expect(all(mnist(d))).rejects.toThrow(
        /train-images-idx3-ubyte\.gz: header \(4000000 x 28 x 28\) declares 3136000016 bytes, more than a gzip of \d+ bytes can hold; not inflated/,
      );
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    // A consistent file over the inflate limit: refused by maxInflatedBytes, before inflating.
    const e = await sub('idx-cap');
    await writeFile(path.join(e, 'train-images-idx3-ubyte.gz'), idxGzBomb(100, 28, 28, 100 * 28 * 28));
    await writeFile(path.join(e, 'train-labels-idx1-ubyte.gz'), idxLabelsGz(100));
    await expect(all(mnist(e, { maxInflatedBytes: 50_000 }))).rejects.toThrow(
      /declares 78416 bytes, more than the limit of 50000 bytes \(maxInflatedBytes\)/,
    );
    expect(await all(mnist(e))).toHaveLength(100);
  });

  it('an IDX.gz that inflates to more than its header declares: the inflate stops at the declared size', async () => {
    const d = await sub('idx-long');
    const { gzipSync } = await import('node:zlib');
    await writeFile(
      path.join(d, 'train-images-idx3-ubyte.gz'),
      gzipSync(Buffer.concat([encodeIdxHeader([2, 4, 4]), Buffer.alloc(1 << 20)])),
    );
    await writeFile(path.join(d, 'train-labels-idx1-ubyte.gz'), idxLabelsGz(2));
    await expect(all(mnist(d))).rejects.toThrow(
      /train-images-idx3-ubyte\.gz: inflates to more than 48 bytes, the most its header allows; stopped there/,
    );
  });
});

describe('IDX.gz with honest headers (issue 23, fault 8): streamed, never written to disk, memory bounded', () => {
  it('reads a gzipped pair with no usable temp folder, in file order and shuffled over several windows, exactly as the plain pair', async () => {
    const d = await sub('idx-stream');
    const images = Buffer.concat([encodeIdxHeader([50, 4, 3]), Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7) % 256))]);
    const labels = Buffer.concat([encodeIdxHeader([50]), Buffer.from(Array.from({ length: 50 }, (_, i) => i % 10))]);
    const { gzipSync } = await import('node:zlib');
    const gz = await sub('idx-stream/gz');
    const plain = await sub('idx-stream/plain');
    await writeFile(path.join(gz, 'train-images-idx3-ubyte.gz'), gzipSync(images));
    await writeFile(path.join(gz, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
    await writeFile(path.join(plain, 'train-images-idx3-ubyte'), images);
    await writeFile(path.join(plain, 'train-labels-idx1-ubyte'), labels);
    // A temp "folder" that is a file: anything written there fails.
    const notADir = path.join(d, 'not-a-dir');
    await writeFile(notADir, '');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = notADir;
    const key = (s: { origin: string; label: number; image: ArrayLike<number> }): string =>
      `${path.basename(s.origin)}:${s.label}:${Array.from(s.image).join(',')}`;
    try {
      for (const shuffle of [false, true])
        for (const maxHeldBytes of [12 * 7, 2 ** 20]) {
          const options = { shuffle, seed: 3, maxHeldBytes };
          const [a, b] = [await all(mnist(gz, options)), await all(mnist(plain, options))];
          expect(a.map(key), `shuffle ${shuffle}, ${maxHeldBytes} bytes`).toEqual(b.map(key).map((k) => k.replace('ubyte#', 'ubyte.gz#')));
          expect(a.map((s) => s.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
        }
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('a 100,000-image pair (78 MB inflated) read shuffled in 5 windows: under 300 MB resident, nothing written, one epoch in order of the permutation', async () => {
    const d = await sub('idx-honest');
    await honestMnistGz(d, 100_000);
    const { spawn } = await import('node:child_process');
    const { repo } = await import('../cli/helpers.js');
    const script = `import { mnist } from ${JSON.stringify(path.join(repo, 'src/sources/idx.ts'))};
import { readFileSync } from 'node:fs';
let n = 0, sum = 0;
await new Promise((resolve, reject) => mnist(${JSON.stringify(d)}, { seed: 1, maxHeldBytes: 16 * 2 ** 20 }).subscribe({ next: (s) => { n++; sum += s.label; }, error: reject, complete: resolve }));
const hwm = /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
const wchar = /wchar:\\s+(\\d+)/.exec(readFileSync('/proc/self/io', 'utf8'));
console.log(JSON.stringify({ n, sum, peakKb: Number(hwm?.[1]), written: Number(wchar?.[1]) }));`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => (text += t));
      child.stderr.setEncoding('utf8').on('data', (t: string) => (text += t));
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    const last = out.trim().split('\n').pop() ?? '';
    expect(last, out).toMatch(/^{/);
    const result = JSON.parse(last) as { n: number; sum: number; peakKb: number; written: number };
    expect(result.n, out).toBe(100_000);
    expect(result.sum).toBe(45 * 10_000);
    expect(result.peakKb * 1024).toBeLessThan(300 * 2 ** 20);
    // Bytes this process passed to write() (tsx's compile cache included): the 78 MB are not among them.
    expect(result.written).toBeLessThan(32 * 2 ** 20);
  }, 120_000);
});

describe('TFRecord: record lengths checked against the limit and the file before reading', () => {
  it('a length of 2^40 and a sparse 2 GiB record: refused naming shard and offset, nothing read', async () => {
    const d = await sub('tfr');
    const huge = path.join(d, 'huge.tfrecord');
    await tfrecordLengthBomb(huge, 2 ** 40, false);
    await expect(all(tfrecord(huge, { numClasses: 2 }))).rejects.toThrow(
      /huge\.tfrecord@0: record length 1099511627776 bytes is over the limit of 67108864 \(maxRecordBytes\)/,
    );
    const sparse = path.join(d, 'sparse.tfrecord');
    await tfrecordLengthBomb(sparse, 2 ** 31, true);
    const before = process.memoryUsage().rss;
    await expect(all(tfrecord(sparse, { numClasses: 2 }))).rejects.toThrow(
      /sparse\.tfrecord@0: record length 2147483648 bytes is over the limit/,
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    // Within the limit, a length beyond the file is a truncation, also before any read.
    await expect(all(tfrecord(huge, { numClasses: 2, maxRecordBytes: 2 ** 41 }))).rejects.toThrow(
      /huge\.tfrecord@0: truncated file: a record of 1099511627776 bytes needs/,
    );
  });
});

describe('special files: refused when listed or opened, naming the path, in every source', () => {
  it('MNIST labels, a CIFAR batch, a TFRecord shard, a manifest: each a FIFO', async () => {
    const m = await sub('fifo-mnist');
    await writeFile(path.join(m, 'train-images-idx3-ubyte'), Buffer.concat([encodeIdxHeader([1, 2, 2]), Buffer.alloc(4)]));
    fifoAt(path.join(m, 'train-labels-idx1-ubyte'));
    await expect(all(mnist(m))).rejects.toThrow(/train-labels-idx1-ubyte: is a FIFO \(named pipe\), not a regular file/);

    const c = await sub('fifo-cifar');
    fifoAt(path.join(c, 'data_batch_1.bin'));
    await expect(all(cifar(c))).rejects.toThrow(/data_batch_1\.bin: is a FIFO/);

    const t = await sub('fifo-tfr');
    await writeFile(path.join(t, 'a.tfrecord-00000-of-00002'), encodeTfrecord(new Uint8Array(0)));
    fifoAt(path.join(t, 'a.tfrecord-00001-of-00002'));
    await expect(all(tfrecord(t, { numClasses: 2, onError: 'skip' }))).rejects.toThrow(/a\.tfrecord-00001-of-00002: is a FIFO/);

    const f = await sub('fifo-manifest');
    fifoAt(path.join(f, 'list.csv'));
    await expect(all(manifest(path.join(f, 'list.csv')))).rejects.toThrow(/list\.csv: is a FIFO/);
    await expect(detectDataset(path.join(f, 'list.csv'))).rejects.toThrow(/list\.csv' is a FIFO \(named pipe\), not a data file or folder/);
    await expect(detectDataset('/proc/self')).rejects.toThrow(/is under \/proc/);
  });

  it('an image folder: a FIFO, a socket and a link to /dev/zero among the images are skipped and listed with the reason', async () => {
    const root = await sub('fifo-folder');
    await mkdir(path.join(root, 'cat'));
    await writeFile(path.join(root, 'cat', 'ok.jpg'), 'x');
    fifoAt(path.join(root, 'cat', 'pipe.jpg'));
    socketAt(path.join(root, 'cat', 'sock.png'));
    await symlink('/dev/zero', path.join(root, 'cat', 'zero.jpg'));
    const listing = await listImageFolder(root);
    expect(listing.files.map((f) => path.basename(f.path))).toEqual(['ok.jpg']);
    expect(listing.skipped.map((s) => [path.basename(s.origin), s.reason]).sort()).toEqual([
      ['pipe.jpg', 'a FIFO (named pipe), not a regular file'],
      ['sock.png', 'a socket, not a regular file'],
      ['zero.jpg', "symbolic link leading outside the root (to '/dev/zero')"],
    ]);
  });
});

describe('the data root is a boundary', () => {
  it('manifest: a link leading outside the root, to /dev/zero, a loop and a NUL in a path are refused naming the line', async () => {
    const root = await sub('mf');
    const outside = await sub('mf-outside');
    await writeFile(path.join(outside, 'secret.jpg'), 'x');
    await writeFile(path.join(root, 'in.jpg'), 'x');
    await symlink(path.join(outside, 'secret.jpg'), path.join(root, 'escape.jpg'));
    await symlink('/dev/zero', path.join(root, 'zero.jpg'));
    await symlink('loop-b.jpg', path.join(root, 'loop-a.jpg'));
    await symlink('loop-a.jpg', path.join(root, 'loop-b.jpg'));
    await symlink('in.jpg', path.join(root, 'inside-link.jpg'));
    const cases: Array<[string, RegExp]> = [
      [
        'escape.jpg',
        /:3: path 'escape.jpg' leads outside the root .* \(through a symbolic link, to '.*mf-outside\/secret\.jpg'\): refused/,
      ],
      ['zero.jpg', /:3: path 'zero.jpg' leads outside the root .* to '\/dev\/zero'/],
      ['loop-a.jpg', /:3: path 'loop-a.jpg' is a symbolic link loop/],
      // eslint-disable-next-line no-control-regex
      ['in\u0000.jpg', /:3: path 'in\u0000\.jpg' contains a NUL character/],
    ];
    for (const [p, reason] of cases) {
      const file = path.join(root, 'list.csv');
      await writeFile(file, `path,label\nin.jpg,a\n"${p}",b\n`);
      await expect(readManifest(file), p).rejects.toThrow(reason);
    }
    const ok = path.join(root, 'ok.csv');
    await writeFile(ok, 'path,label\nin.jpg,a\ninside-link.jpg,b\n');
    expect((await readManifest(ok)).rows.map((r) => path.basename(r.path))).toEqual(['in.jpg', 'inside-link.jpg']);
  });

  it('image folder: links outside and loops are skipped and counted; a symlinked class folder inside the root is a class; a class of only outside links says why it is empty', async () => {
    const root = await sub('folder');
    const outside = await sub('folder-outside');
    await writeFile(path.join(outside, 'secret.jpg'), 'x');
    await mkdir(path.join(outside, 'dogs'));
    await writeFile(path.join(outside, 'dogs', 'd.jpg'), 'x');
    await mkdir(path.join(root, 'cat'));
    await mkdir(path.join(root, '.store', 'bird'), { recursive: true });
    await writeFile(path.join(root, 'cat', 'c.jpg'), 'x');
    await writeFile(path.join(root, '.store', 'bird', 'b.jpg'), 'x');
    await symlink(path.join(outside, 'secret.jpg'), path.join(root, 'cat', 'escape.jpg'));
    await symlink('loop2.jpg', path.join(root, 'cat', 'loop1.jpg'));
    await symlink('loop1.jpg', path.join(root, 'cat', 'loop2.jpg'));
    await symlink(path.join(root, '.store', 'bird'), path.join(root, 'bird')); // inside the root: followed
    await symlink(path.join(outside, 'dogs'), path.join(root, 'dogs')); // outside: skipped
    await symlink('c.jpg', path.join(root, 'cat', 'alias.jpg')); // inside: an image
    const listing = await listImageFolder(root);
    expect(listing.classes).toEqual(['bird', 'cat']);
    expect(listing.files.map((f) => path.relative(root, f.path))).toEqual(['bird/b.jpg', 'cat/alias.jpg', 'cat/c.jpg']);
    expect(listing.skipped.map((s) => [path.relative(root, s.origin), s.reason.replace(/ \(to .*/, '')]).sort()).toEqual([
      ['cat/escape.jpg', 'symbolic link leading outside the root'],
      ['cat/loop1.jpg', 'symbolic link loop'],
      ['cat/loop2.jpg', 'symbolic link loop'],
      ['dogs', 'symbolic link leading outside the root'],
    ]);
    expect((await all(imageFolder(root, { shuffle: false }))).map((s) => path.basename(s.origin))).toEqual(['b.jpg', 'alias.jpg', 'c.jpg']);

    const only = await sub('folder-only-links');
    await mkdir(path.join(only, 'cat'));
    await symlink(path.join(outside, 'secret.jpg'), path.join(only, 'cat', 'x.jpg'));
    await expect(listImageFolder(only)).rejects.toThrow(
      /class folder '.*cat' holds no images .*; skipped 1: '.*x\.jpg' \(symbolic link leading outside the root/,
    );
  });
});

describe('manifest bombs (issue 23, fault 8): labels, fields and lines bounded before anything is sized or buffered', () => {
  it('a label of 2,000,000,000 or 3,000,000: refused at its line (no list of classes sized from it); with classes, bounded by them', async () => {
    const d = await sub('mf-labels');
    await writeFile(path.join(d, 'a.jpg'), 'x');
    for (const label of [2_000_000_000, 3_000_000]) {
      const csv = path.join(d, `l${label}.csv`);
      await writeFile(csv, `path,label\na.jpg,0\na.jpg,${label}\n`);
      await expect(readManifest(csv)).rejects.toThrow(
        new RegExp(`l${label}\\.csv:3: label ${label} is over the limit of 100000 classes \\(maxClasses\\)`),
      );
      const jsonl = path.join(d, `l${label}.jsonl`);
      await writeFile(jsonl, `{"path":"a.jpg","label":0}\n{"path":"a.jpg","label":${label}}\n`);
      await expect(readManifest(jsonl)).rejects.toThrow(new RegExp(`l${label}\\.jsonl:2: label ${label} is over the limit`));
    }
    const csv = path.join(d, 'named.csv');
    await writeFile(csv, 'path,label\na.jpg,0\na.jpg,5\n');
    await expect(readManifest(csv, { classes: ['a', 'b', 'c'] })).rejects.toThrow(
      /named\.csv:3: label 5 is outside \[0, 3\) \(options\.classes names 3\)/,
    );
    await expect(readManifest(csv, { maxClasses: 5 })).rejects.toThrow(/:3: label 5 is over the limit of 5 classes/);
    expect((await readManifest(csv, { maxClasses: 6 })).classes).toHaveLength(6);
    // Class names: their count is bounded the same way, and rows by maxRows.
    const names = path.join(d, 'names.csv');
    await writeFile(names, `path,label\n${Array.from({ length: 5 }, (_, i) => `a.jpg,c${i}`).join('\n')}\n`);
    await expect(readManifest(names, { maxClasses: 4 })).rejects.toThrow(/names\.csv:6: names more than 4 classes \(maxClasses\)/);
    await expect(readManifest(names, { maxRows: 3 })).rejects.toThrow(/names\.csv:5: is past the limit of 3 rows \(maxRows\)/);
    expect((await readManifest(names)).classes).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
  });

  it('an unclosed quote followed by 400 MB, a 400 MB JSON line, 100,000 commas: refused at the cap, memory bounded', async () => {
    const d = await sub('mf-fields');
    const quote = path.join(d, 'quote.csv');
    await manifestWithHole(quote, 'path,label\na.jpg,0\n"b.jpg', 400 * 2 ** 20);
    const line = path.join(d, 'line.jsonl');
    await manifestWithHole(line, '{"path":"a.jpg","label":0}\n{"path":"', 400 * 2 ** 20);
    const commas = path.join(d, 'commas.csv');
    await writeFile(commas, `path,label\na.jpg,0${','.repeat(100_000)}\n`);
    const before = process.memoryUsage().rss;
    await expect(readManifest(quote)).rejects.toThrow(
      /quote\.csv:3: a field runs past 65536 characters inside quotes \(an unclosed quote\?\); refused/,
    );
    await expect(readManifest(line)).rejects.toThrow(/line\.jsonl:2: is longer than 1048576 characters; refused/);
    await expect(readManifest(commas)).rejects.toThrow(/commas\.csv:2: more than 1024 fields; refused/);
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 2 ** 20);
    // Long records made of short fields: the record cap.
    const { parseCsv } = await import('../../src/core/csv.js');
    expect(() => parseCsv(`a,"${'x\n'.repeat(40)}"\n`, { maxFieldChars: 1000, maxRecordChars: 50, maxFields: 10 })).toThrow(
      /CSV line 1: a record runs past 50 characters inside quotes/,
    );
    expect(parseCsv('a,"b\nc"\nd,e\n')).toEqual([
      { fields: ['a', 'b\nc'], line: 1 },
      { fields: ['d', 'e'], line: 3 },
    ]);
  });
});

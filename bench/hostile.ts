/**
 * Peak RSS of a pipeline fed the worst hostile corpus (test/hostile/corpus.ts): JPEG and PNG pixel
 * bombs, the largest real JPEG under the pixel limit, a FIFO and a link to /dev/zero among the
 * images (skipped), then an IDX.gz bomb and a sparse TFRecord with a 2 GiB record (refused), in a
 * fresh process, against the README's bound for the same options (its runtime term measured in
 * the same process before any data is read).
 *
 * Run alone: node dist/bench/hostile.js <folder>  (prints one JSON object)
 */
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastValueFrom, toArray } from 'rxjs';
import { DEFAULT_MAX_PIXELS, DEFAULT_MAX_RECORD_BYTES } from '../src/core/limits.js';
import { SkipLog } from '../src/core/types.js';
import { batch, normalizeResize } from '../src/operators/index.js';
import { mnist } from '../src/sources/idx.js';
import { imageFolder, listImageFolder } from '../src/sources/imageFolder.js';
import { tfrecord } from '../src/sources/tfrecord.js';
import { fifoAt, idxGzBomb, idxLabelsGz, jpegPixelBomb, pngPixelBomb, realImage, tfrecordLengthBomb } from '../test/hostile/corpus.js';
import { runInChild } from './child.js';
import type { Figure } from './report.js';

const WORKERS = 2;
const CONCURRENCY = 16;
const SIZE = 32;
const BATCH = 8;

async function peakRssMiB(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return (kib === undefined ? process.resourceUsage().maxRSS : Number(kib)) / 1024;
}

async function writeCorpus(root: string): Promise<void> {
  const folder = path.join(root, 'images');
  for (const c of ['a', 'b']) await mkdir(path.join(folder, c), { recursive: true });
  for (let i = 0; i < 4; i++) await writeFile(path.join(folder, 'a', `bomb${i}.jpg`), jpegPixelBomb(26000, 26000));
  for (let i = 0; i < 2; i++) await writeFile(path.join(folder, 'b', `bomb${i}.png`), pngPixelBomb(30000, 30000));
  const side = Math.floor(Math.sqrt(DEFAULT_MAX_PIXELS)) - 8; // the largest real image the limit lets in
  const big = await realImage(side, side);
  for (let i = 0; i < 2; i++) await writeFile(path.join(folder, i === 0 ? 'a' : 'b', `big${i}.jpg`), big);
  const small = await realImage(64, 48);
  for (let i = 0; i < 16; i++) await writeFile(path.join(folder, i % 2 ? 'a' : 'b', `small${i}.jpg`), small);
  fifoAt(path.join(folder, 'a', 'pipe.jpg'));
  await symlink('/dev/zero', path.join(folder, 'b', 'zero.jpg'));
  const idx = path.join(root, 'idx');
  await mkdir(idx);
  await writeFile(path.join(idx, 'train-images-idx3-ubyte.gz'), idxGzBomb(2, 12000, 12000));
  await writeFile(path.join(idx, 'train-labels-idx1-ubyte.gz'), idxLabelsGz(2));
  await tfrecordLengthBomb(path.join(root, 'sparse.tfrecord'), 2 ** 31, true);
}

async function measureHere(root: string): Promise<Record<string, number>> {
  const runtime = await peakRssMiB();
  const log = new SkipLog();
  const it = imageFolder(path.join(root, 'images'), { seed: 1 }).pipe(
    normalizeResize({ size: SIZE, workers: WORKERS, concurrency: CONCURRENCY, onError: 'skip', onSkip: log.add }),
    batch(BATCH),
  );
  const batches = await lastValueFrom(it.pipe(toArray()));
  let refused = 0;
  await lastValueFrom(mnist(path.join(root, 'idx'))).catch(() => refused++);
  await lastValueFrom(tfrecord(path.join(root, 'sparse.tfrecord'), { numClasses: 2 })).catch(() => refused++);
  const listed = (await listImageFolder(path.join(root, 'images'))).skipped.length; // the FIFO and the /dev/zero link
  return { runtime, peak: await peakRssMiB(), images: batches.reduce((n, b) => n + b.shape[0], 0), skipped: log.count, listed, refused };
}

export async function benchHostile(emit: (f: Figure) => void): Promise<void> {
  const root = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'mixstream-bench-hostile-')));
  try {
    await writeCorpus(root);
    const r = JSON.parse(await runInChild(import.meta.filename, [root])) as Record<string, number>;
    const P = DEFAULT_MAX_PIXELS;
    const MiB = 2 ** 20;
    // The README's formula for these options: no training step in this process, one TFRecord reader.
    const alive = (CONCURRENCY + 2 * BATCH) * SIZE * SIZE * 3 * 4;
    const bound = (r.runtime as number) + (alive + WORKERS * (16 * P + 16 * MiB) + DEFAULT_MAX_RECORD_BYTES) / MiB;
    emit({
      name: 'hostile corpus peak RSS (4 JPEG + 2 PNG pixel bombs, 2 real 40 MP JPEGs, FIFO, /dev/zero link, IDX.gz bomb, sparse 2 GiB TFRecord)',
      value: r.peak as number,
      unit: 'MiB',
      against: { name: 'README memory bound for these options', value: bound, unit: 'MiB' },
      ratio: (r.peak as number) / bound,
      target: '<= bound',
      pass: (r.peak as number) <= bound && r.images === 18 && r.skipped === 6 && r.listed === 2 && r.refused === 2,
      images: r.images,
      skipped: r.skipped,
      listed: r.listed,
      refused: r.refused,
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2]) {
  console.log(JSON.stringify(await measureHere(process.argv[2])));
  process.exit(0);
}

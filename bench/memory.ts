/**
 * Peak RSS of the peer's chain (file list shuffled each epoch, no shuffle window) over one cold
 * epoch with a consumer slower than the source, at 2,000 and 20,000 images (hard links repeat the
 * files), each in a fresh process; and what a shuffle window of n images adds. The consumer
 * releases each batch, as toTfDataset does on wasm; one line shows a consumer that keeps them.
 *
 * Run alone: node dist/bench/memory.js <folder> <shuffle-window>  (prints one JSON object)
 */
import { link, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
// Only the pipeline's modules: the measured process holds no tfjs (the sink's tensors are fitDataset's business).
import { augment, batch, cutmix, normalizeResize, prefetch, shuffleWindow } from '../src/operators/index.js';
import { toAsyncIterable } from '../src/sinks/toAsyncIterable.js';
import { imageFolder } from '../src/sources/imageFolder.js';
import { runInChild } from './child.js';
import type { Figure } from './report.js';
import { peerData } from './peers.js';
import { sized } from './size.js';

/** The slow consumer's time per batch. */
const CONSUMER_MS = sized(60, 1);

/** A folder of `copies` hard links to each file of `root`, class by class. */
async function repeated(root: string, copies: number): Promise<string> {
  const out = `${root}-x${copies}`;
  if (await stat(out).catch(() => undefined)) return out;
  for (const c of await readdir(root)) {
    await mkdir(path.join(out, c), { recursive: true });
    for (const f of await readdir(path.join(root, c)))
      for (let k = 0; k < copies; k++) await link(path.join(root, c, f), path.join(out, c, `${k}_${f}`));
  }
  return out;
}

/**
 * This process's peak resident memory. Not getrusage's maxRSS: Linux carries that across exec
 * from the forked copy of the parent, so a child reports at least its parent's size at the fork
 * (the bench's parent holds a 300 MB cache by then). VmHWM is the peak of this address space.
 */
export async function peakRssMiB(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return (kib === undefined ? process.resourceUsage().maxRSS : Number(kib)) / 1024;
}

async function measureHere(root: string, window: number, release = true): Promise<{ images: number; peakRssMiB: number; limit: number }> {
  const decoded$ = imageFolder(root, { seed: 1 }).pipe(normalizeResize({ size: 224 }));
  const train$ = (window > 0 ? decoded$.pipe(shuffleWindow(window, { seed: 1 })) : decoded$).pipe(
    augment({ flip: 'horizontal', brightness: 0.2 }),
    batch(16),
    cutmix({ alpha: 1 }),
    prefetch(2),
  );
  let images = 0;
  const it = toAsyncIterable(train$)[Symbol.asyncIterator]();
  for (let r = await it.next(); !r.done; r = await it.next()) {
    images += r.value.shape[0];
    if (release) it.release(r.value); // as toTfDataset does on wasm once the batch's tensor is made
    // The slower consumer: 60 ms of "training" a batch (267 images/s, below what the source makes), so the source is always ahead.
    await new Promise((resolve) => setTimeout(resolve, CONSUMER_MS));
  }
  return { images, peakRssMiB: await peakRssMiB(), limit: it.credit.limit };
}

async function inChild(root: string, window: number, release = true): Promise<{ images: number; peakRssMiB: number; limit: number }> {
  const stdout = await runInChild(import.meta.filename, [root, String(window), String(release)]);
  return JSON.parse(stdout.split('\n').pop() ?? '{}');
}

export async function benchMemory(out: (f: Figure) => void): Promise<void> {
  const small = await peerData();
  const large = await repeated(small, sized(10, 2));
  const a = await inChild(small, 0);
  const b = await inChild(large, 0);
  out({
    name: `peak RSS, cold epoch of ${b.images} images, slow consumer, no shuffle window`,
    value: b.peakRssMiB,
    unit: 'MiB',
    against: { name: 'limit', value: 300, unit: 'MiB' },
    target: '<= 300 MiB',
    pass: b.peakRssMiB <= 300,
    samplesAliveBound: b.limit,
  });
  const growth = b.peakRssMiB / a.peakRssMiB - 1;
  out({
    name: `peak RSS growth from ${a.images} to ${b.images} images`,
    value: 100 * growth,
    unit: '%',
    against: { name: `peak RSS at ${a.images} images`, value: a.peakRssMiB, unit: 'MiB' },
    target: '< 10%',
    pass: growth < 0.1,
  });
  const w = await inChild(small, sized(1000, 8));
  const kept = await inChild(small, 0, false);
  out({
    name: `peak RSS at ${kept.images} images, consumer keeping its batches (no release())`,
    value: kept.peakRssMiB,
    unit: 'MiB',
    against: { name: 'releasing each batch, same data', value: a.peakRssMiB, unit: 'MiB' },
  });
  out({
    name: `peak RSS with shuffleWindow(${sized(1000, 8)}) before augment`,
    value: w.peakRssMiB,
    unit: 'MiB',
    against: { name: 'no shuffle window, same data', value: a.peakRssMiB, unit: 'MiB' },
    addedPerImageKiB: ((w.peakRssMiB - a.peakRssMiB) * 1024) / sized(1000, 8),
    samplesAliveBound: w.limit,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2]) {
  console.log(JSON.stringify(await measureHere(process.argv[2], Number(process.argv[3] ?? 0), process.argv[4] !== 'false')));
  process.exit(0);
}

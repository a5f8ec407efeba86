/**
 * The reference chain (decode, resize 224, flip, brightness, batch 16, CutMix, one-hot labels,
 * prefetch) cold and warm, beside PyTorch's DataLoader on the same files in the same run. The
 * consumer releases each batch when done with it (what toTfDataset does on wasm); a line shows
 * each figure without.
 */
import { pathToFileURL } from 'node:url';
import { nativeStatus } from '../src/core/native.js';
import { augment, batch, cache, cutmix, imageFolder, normalizeResize, prefetch, toAsyncIterable } from '../src/index.js';
import { runInChild } from './child.js';
import type { Figure } from './report.js';
import { peerData, torchPeer } from './peers.js';
import { defined } from '../src/core/idioms.js';

/** Images per second of one pass over `epochs` epochs of a chain, by epoch. */
async function rates(
  root: string,
  epochs: number,
  options: { cached?: boolean; deterministic?: boolean; workers?: number; release?: boolean } = {},
): Promise<number[]> {
  const decode = normalizeResize({
    size: 224,
    deterministic: options.deterministic ?? true,
    ...defined({ workers: options.workers }),
  });
  const decoded$ = imageFolder(root, { seed: 1 }).pipe(decode);
  const train$ = (options.cached ? decoded$.pipe(cache()) : decoded$).pipe(
    augment({ flip: 'horizontal', brightness: 0.2, seed: 1 }),
    batch(16),
    cutmix({ alpha: 1, seed: 1 }),
    prefetch(2),
  );
  const out: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const start = performance.now();
    let images = 0;
    // The consumer gives each batch back when done with it, as toTfDataset does on wasm once the
    // tensor holds a copy; `release: false` is a consumer that keeps them (fresh memory each batch).
    const it = toAsyncIterable(train$)[Symbol.asyncIterator]();
    for (let r = await it.next(); !r.done; r = await it.next()) {
      images += r.value.shape[0];
      if (options.release ?? true) it.release(r.value);
    }
    out.push((images * 1000) / (performance.now() - start));
  }
  return out;
}

/** One cold epoch in a child process, with node flags or environment of its own. */
async function coldInChild(root: string, nodeFlags: string[], env: Record<string, string> = {}): Promise<number> {
  return Number((await runInChild(import.meta.filename, [root], { nodeFlags, env })).split('\n').pop());
}

export async function benchChain(out: (f: Figure) => void): Promise<void> {
  const root = await peerData();
  // Ours before and after the peer, averaged: the machine's load drifts during a run.
  const before = (await rates(root, 1))[0] ?? 0;
  const torch = await torchPeer(root);
  const after = (await rates(root, 1))[0] ?? 0;
  const cold = (before + after) / 2;
  const against = 'missing' in torch ? undefined : { name: torch.name, value: torch.images_per_s, unit: 'images/s' };
  const vs = (value: number, target: number): Partial<Figure> =>
    against
      ? { against, ratio: value / against.value, target: `>= ${target}x`, pass: value / against.value >= target }
      : { peer: 'missing' in torch ? torch.missing : '' };
  out({
    name: 'cold epoch: reference chain (decode+resize 224, flip, brightness, batch 16, cutmix, prefetch)',
    value: cold,
    unit: 'images/s',
    ...vs(cold, 1.5),
    runs: [before, after],
    addon: nativeStatus.kind,
  });
  const [, warm = 0] = await rates(root, 2, { cached: true });
  out({ name: 'warm epoch: same chain with cache() after normalizeResize', value: warm, unit: 'images/s', ...vs(warm, 10) });
  const kept = (await rates(root, 1, { release: false }))[0] ?? 0;
  out({
    name: 'cold epoch, consumer keeping its batches (no release(): fresh memory for each)',
    value: kept,
    unit: 'images/s',
    against: { name: 'releasing each batch (the cold epoch above)', value: cold, unit: 'images/s' },
    ratio: kept / cold,
  });
  const [, warmKept = 0] = await rates(root, 2, { cached: true, release: false });
  out({
    name: 'warm epoch, consumer keeping its batches (no release())',
    value: warmKept,
    unit: 'images/s',
    against: { name: 'releasing each batch (the warm epoch above)', value: warm, unit: 'images/s' },
    ratio: warmKept / warm,
  });
  const unordered = (await rates(root, 1, { deterministic: false }))[0] ?? 0;
  out({
    name: 'cold epoch, parallel decode unordered (deterministic: false)',
    value: unordered,
    unit: 'images/s',
    against: { name: 'ordered (deterministic: true), same run', value: cold, unit: 'images/s' },
    ratio: unordered / cold,
  });
  const mainThread = (await rates(root, 1, { workers: 0 }))[0] ?? 0;
  out({
    name: 'cold epoch, decode on worker threads (default)',
    value: cold,
    unit: 'images/s',
    against: { name: 'decode on the main thread (workers: 0)', value: mainThread, unit: 'images/s' },
    ratio: cold / mainThread,
  });
  const javascript = await coldInChild(root, [], { MIXSTREAM_NATIVE: '0' });
  out({
    name: `cold epoch, native addon (${nativeStatus.kind})`,
    value: cold,
    unit: 'images/s',
    against: { name: 'the JavaScript path (MIXSTREAM_NATIVE=0), same run', value: javascript, unit: 'images/s' },
    ratio: cold / javascript,
  });
  // V8 marks concurrently on a helper thread, which on two cores takes one from the decode workers.
  const serialMarking = await coldInChild(root, ['--no-concurrent-marking']);
  out({
    name: 'cold epoch under node --no-concurrent-marking',
    value: serialMarking,
    unit: 'images/s',
    against: { name: 'default node flags (the cold epoch above)', value: cold, unit: 'images/s' },
    ratio: serialMarking / cold,
    ...(against ? { vsPeer: serialMarking / against.value } : {}),
  });
}

// Run alone (by coldInChild): node dist/bench/chain.js <folder>  prints one cold epoch's images/s.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2]) {
  console.log((await rates(process.argv[2], 1))[0]);
  process.exit(0);
}

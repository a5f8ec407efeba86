/**
 * The lecture's experiment at a seed's scale: a generated Stanford-Dogs-shaped folder (120 classes,
 * JPEGs of 200-500 px a side) and one epoch of the lecture's chain with CutMix training
 * MobileNetV2 at 224 (imageFolder -> normalizeResize -> augment -> shuffleWindow -> batch -> cutmix
 * -> prefetch -> toTfDataset -> fitDataset, the `cutmix` arm as `ablate` builds it), images/s end
 * to end and peak RSS (fresh process), beside PyTorch's DataLoader + torchvision doing the same
 * (bench/peer_torch_seed_scale.py), in the same run. Both use every core.
 *
 * Size: MIXSTREAM_SEED_SCALE=full is 3 images a class (360, "a few hundred"); the default is 1 a
 * class (120 images, 8 batches: minutes on 2 loaded cores). MIXSTREAM_SEED_ALPHA picks the width
 * (default 1.0, the 2.4 M-parameter net).
 *
 * Run alone: node dist/bench/seedScale.js <folder> <alpha>  (prints one JSON object)
 */
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sized, TINY, TINY_PEER } from './size.js';
import { promisify } from 'node:util';
import { tap } from 'rxjs';
import { runInChild } from './child.js';
import { peakRssMiB } from './memory.js';
import { emit, type Figure } from './report.js';

export const SEED_SCALE = sized(
  { classes: 120, minSide: 200, maxSide: 500, size: 224, batch: 16, prefetch: 2, workers: 2 },
  { classes: 4, minSide: 40, maxSide: 60, size: 32, batch: 4, prefetch: 2, workers: 2 },
);

/** Images a class: 3 for the full size (360 images), 1 by default (120). */
const perClass = (): number => (process.env.MIXSTREAM_SEED_SCALE === 'full' ? 3 : 1);

/** The generated folder (made once, deterministic: the same seed writes the same bytes). */
export async function seedScaleFolder(images = perClass()): Promise<string> {
  const root = path.join(process.env.PEER_WORK ?? '/tmp/mixstream-peers', `seed-scale-${SEED_SCALE.classes}x${images}`);
  const done = await stat(path.join(root, `class_${SEED_SCALE.classes - 1}`)).catch(() => undefined);
  if (done && (await readdir(path.join(root, `class_${SEED_SCALE.classes - 1}`))).length === images) return root;
  const { writeSyntheticFolder } = await import('../src/sources/synthetic.js');
  await writeSyntheticFolder(root, {
    classes: SEED_SCALE.classes,
    perClass: images,
    seed: 24,
    minSide: SEED_SCALE.minSide,
    maxSide: SEED_SCALE.maxSide,
  });
  return root;
}

interface Ours {
  readonly images: number;
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly runtimeRssMiB: number;
  readonly boundMiB: number;
  readonly bound: string;
  readonly decoded: string;
  readonly parameters: number;
  readonly threads: number;
}

/** In this (fresh) process: one epoch, from the first file read to fitDataset's end. */
async function measureHere(root: string, alpha: number): Promise<Ours> {
  const tf = await import('@tensorflow/tfjs');
  const { resolveBackend } = await import('../src/backend/index.js');
  const { DecodedImages } = await import('../src/decode/memo.js');
  const { createModel } = await import('../src/models/index.js');
  const { prefetch } = await import('../src/operators/index.js');
  const { toTfDataset } = await import('../src/sinks/toTfDataset.js');
  const { imageFolder, listImageFolder } = await import('../src/sources/imageFolder.js');
  const { buildArm, cutmixArm } = await import('../src/experiment/plan/arms.js');
  const { DEFAULT_CONFIG } = await import('../src/experiment/plan/config.js');
  const { DECODED_MEMO_BYTES, describeBound, memoryBound } = await import('../src/experiment/plan/memoryBound.js');
  const threads = os.availableParallelism();
  await resolveBackend('wasm', { threads });
  const listing = await listImageFolder(root);
  const numClasses = listing.classes.length;
  const runtimeRssMiB = process.memoryUsage().rss / 2 ** 20;
  const armOptions = {
    size: SEED_SCALE.size,
    batchSize: SEED_SCALE.batch,
    shuffleWindow: DEFAULT_CONFIG.shuffleWindow,
    decoded: new DecodedImages(DECODED_MEMO_BYTES),
  };
  const chain = buildArm(cutmixArm, 1, armOptions, prefetch(SEED_SCALE.prefetch));
  const model = createModel('mobilenet-v2', {
    inputSize: SEED_SCALE.size,
    numClasses,
    seed: 1,
    learningRate: 1e-3,
    alpha,
  } as Parameters<typeof createModel>[1]);
  let images = 0;
  const t0 = performance.now();
  await model.fitDataset(
    toTfDataset(
      imageFolder(root, { seed: 1 }).pipe(
        chain.operator,
        tap((b) => (images += b.shape[0])),
      ),
    ),
    {
      epochs: 1,
      verbose: 0,
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const bound = memoryBound({
    model: 'mobilenet-v2',
    modelOptions: { alpha },
    size: SEED_SCALE.size,
    batchSize: SEED_SCALE.batch,
    shuffleWindow: DEFAULT_CONFIG.shuffleWindow,
    prefetch: SEED_SCALE.prefetch,
    images: listing.files.length,
  });
  const parameters = model.countParams();
  model.dispose();
  void tf;
  return {
    images,
    seconds,
    peakRssMiB: await peakRssMiB(),
    runtimeRssMiB,
    boundMiB: bound.total / 2 ** 20,
    bound: describeBound(bound),
    decoded: bound.decoded,
    parameters,
    threads,
  };
}

interface Peer {
  readonly name: string;
  readonly images: number;
  readonly images_per_s: number;
  readonly peak_rss_mib: number;
  readonly worker_peak_rss_mib: number;
  readonly threads: number;
}

async function torchPeer(root: string, alpha: number): Promise<Peer | { missing: string }> {
  if (TINY) return { missing: TINY_PEER };
  const python = '/usr/bin/python3';
  try {
    await promisify(execFile)(python, ['-c', 'import torch, torchvision']);
  } catch {
    return { missing: 'python3-torch / python3-torchvision are not installed (apt-get install -y python3-torch python3-torchvision)' };
  }
  const script = path.resolve('bench', 'peer_torch_seed_scale.py');
  try {
    const args = [script, root, String(SEED_SCALE.workers), String(SEED_SCALE.batch), String(SEED_SCALE.size), String(alpha)];
    const { stdout } = await promisify(execFile)(python, args, { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Peer;
  } catch (e) {
    return { missing: `${script} failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
  }
}

export async function benchSeedScale(out: (f: Figure) => void = emit): Promise<void> {
  const alpha = Number(process.env.MIXSTREAM_SEED_ALPHA ?? sized(1, 0.35)) || 1;
  const root = await seedScaleFolder();
  const load = [os.loadavg()[0] as number];
  const ours = JSON.parse((await runInChild(import.meta.filename, [root, String(alpha)])).split('\n').pop() ?? '{}') as Ours;
  const peer = await torchPeer(root, alpha);
  load.push(os.loadavg()[0] as number);
  const rate = ours.images / ours.seconds;
  const common = {
    data: `${SEED_SCALE.classes} classes x ${perClass()} JPEGs, ${SEED_SCALE.minSide}-${SEED_SCALE.maxSide} px a side (${ours.images} images)`,
    cpu: os.cpus()[0]?.model ?? '?',
    cores: os.availableParallelism(),
    loadAverage: load,
  };
  const label = `mobilenet-v2 alpha ${alpha} (${ours.parameters.toLocaleString('en-US')} parameters) ${SEED_SCALE.size}x${SEED_SCALE.size} batch ${SEED_SCALE.batch}`;
  out({
    name: `seed-scale: one epoch, lecture chain + CutMix, ${label}, end to end`,
    value: rate,
    unit: 'images/s',
    ...common,
    threads: ours.threads,
    seconds: ours.seconds,
    ...('missing' in peer
      ? { peer: peer.missing }
      : { against: { name: peer.name, value: peer.images_per_s, unit: 'images/s' }, ratio: rate / peer.images_per_s, target: '>= 1.0x' }),
  });
  out({
    name: `seed-scale: peak RSS, same epoch (decoded images: ${ours.decoded})`,
    value: ours.peakRssMiB,
    unit: 'MiB',
    against: { name: 'stated bound (README: Memory at 224)', value: ours.boundMiB, unit: 'MiB' },
    ratio: ours.peakRssMiB / ours.boundMiB,
    target: '<= bound',
    pass: ours.peakRssMiB <= ours.boundMiB,
    bound: ours.bound,
    runtimeRssMiB: ours.runtimeRssMiB,
    ...('missing' in peer ? {} : { pytorch: { peakRssMiB: peer.peak_rss_mib, workerPeakRssMiB: peer.worker_peak_rss_mib } }),
    ...common,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2]) {
  console.log(JSON.stringify(await measureHere(process.argv[2], Number(process.argv[3] ?? 1))));
  process.exit(0);
}

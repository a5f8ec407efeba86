/**
 * cutmix and mixup on 16x224x224x3 float32 batches beside a plain copy of the same bytes, timed in
 * interleaved rounds (copy, cutmix, mixup, copy, ...) and compared by their medians, so the
 * machine's drifting load and the garbage collector hit all alike. Each into a new batch (what the
 * operators do after any other operator) and in place (what they do straight after `batch`).
 */
import { cutmixBatch, mixupBatch, oneHotLabels } from '../src/core/mix.js';
import { rng } from '../src/core/random.js';
import type { Figure } from './report.js';

const SHAPE = [16, 224, 224, 3] as const;
const K = 120;
const ROUNDS = 60;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

export async function benchMixing(out: (f: Figure) => void): Promise<void> {
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3];
  const r = rng(1, 'bench-mixing');
  const images = Float32Array.from({ length: n }, () => r.next());
  const targets = oneHotLabels(Int32Array.from({ length: SHAPE[0] }, () => r.int(K)), K);
  const opts = { alpha: 1, prob: 1, perSample: false };
  const own = new Float32Array(images);
  const work = {
    // The limit: a fresh array holding the batch, what a mixing step must at least produce.
    copy: (): unknown => new Float32Array(images),
    cutmix: (round: number): unknown => cutmixBatch(images, targets, SHAPE, K, { ...opts, correctLambda: true }, rng(1, 'cutmix', 0, round)),
    mixup: (round: number): unknown => mixupBatch(images, targets, SHAPE, K, { ...opts, alpha: 0.2 }, rng(1, 'mixup', 0, round)),
    // In place on a batch of its own (refilled outside the timing, as `batch` would have written it).
    'cutmix in place': (round: number): unknown => cutmixBatch(own, targets, SHAPE, K, { ...opts, correctLambda: true, inPlace: true }, rng(1, 'cutmix', 0, round)),
    'mixup in place': (round: number): unknown => mixupBatch(own, targets, SHAPE, K, { ...opts, alpha: 0.2, inPlace: true }, rng(1, 'mixup', 0, round)),
  };
  const names = Object.keys(work) as (keyof typeof work)[];
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<keyof typeof work, number[]>;
  for (let round = -3; round < ROUNDS; round++) {
    for (const name of names) {
      own.set(images);
      const start = performance.now();
      work[name](round);
      if (round >= 0) times[name].push(performance.now() - start); // the first rounds warm up
    }
  }
  const gbps = (name: keyof typeof work): number => images.byteLength / (median(times[name]) / 1000) / 1e9;
  const against = { name: 'plain copy of the same bytes (new Float32Array(batch)), same rounds', value: gbps('copy'), unit: 'GB/s' };
  for (const name of names.filter((n) => n !== 'copy')) {
    const ratio = gbps(name) / against.value;
    out({ name: `${name} on 16x224x224x3 float32 (median of ${ROUNDS} interleaved rounds)`, value: gbps(name), unit: 'GB/s', against, ratio, target: '>= 0.5x', pass: ratio >= 0.5 });
  }
}

/** cutmix and mixup on 16x224x224x3 float32 batches beside a plain copy of the same bytes. */
import { cutmixBatch, mixupBatch, oneHotLabels } from '../src/core/mix.js';
import { rng } from '../src/core/random.js';
import type { Figure } from './report.js';

const SHAPE = [16, 224, 224, 3] as const;
const K = 120;

function gbPerSecond(bytes: number, rounds: number, work: (round: number) => void): number {
  work(-1); // warm-up: compile, fault pages in
  const start = performance.now();
  for (let r = 0; r < rounds; r++) work(r);
  return (bytes * rounds) / ((performance.now() - start) / 1000) / 1e9;
}

export async function benchMixing(out: (f: Figure) => void): Promise<void> {
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3];
  const r = rng(1, 'bench-mixing');
  const images = Float32Array.from({ length: n }, () => r.next());
  const targets = oneHotLabels(Int32Array.from({ length: SHAPE[0] }, () => r.int(K)), K);
  const bytes = images.byteLength;
  const rounds = 60;
  // The limit: the fastest plain copy of the batch into a fresh array (what a mixing step must at
  // least do), best of the ways JavaScript has.
  const copy = Math.max(
    gbPerSecond(bytes, rounds, () => void images.slice()),
    gbPerSecond(bytes, rounds, () => void new Float32Array(images)),
    gbPerSecond(bytes, rounds, () => void new Float32Array(n).set(images)),
  );
  const opts = { alpha: 1, prob: 1, perSample: false };
  const cut = gbPerSecond(bytes, rounds, (round) => void cutmixBatch(images, targets, SHAPE, K, { ...opts, correctLambda: true }, rng(1, 'cutmix', 0, round)));
  const mix = gbPerSecond(bytes, rounds, (round) => void mixupBatch(images, targets, SHAPE, K, { ...opts, alpha: 0.2 }, rng(1, 'mixup', 0, round)));
  const against = { name: 'plain copy of the same bytes (best of slice, new Float32Array(a), set)', value: copy, unit: 'GB/s' };
  out({ name: 'cutmix on 16x224x224x3 float32', value: cut, unit: 'GB/s', against, ratio: cut / copy, target: '>= 0.5x', pass: cut / copy >= 0.5 });
  out({ name: 'mixup on 16x224x224x3 float32', value: mix, unit: 'GB/s', against, ratio: mix / copy, target: '>= 0.5x', pass: mix / copy >= 0.5 });
}

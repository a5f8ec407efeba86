/**
 * cutmix and mixup on 16x224x224x3 float32 batches beside a plain copy of the same bytes, timed in
 * interleaved rounds (copy, cutmix, mixup, copy, ...) and compared by their medians, so the
 * machine's drifting load and the garbage collector hit all three alike.
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
  const work = {
    // The limit: a fresh array holding the batch, what a mixing step must at least produce.
    copy: (): unknown => new Float32Array(images),
    cutmix: (round: number): unknown => cutmixBatch(images, targets, SHAPE, K, { ...opts, correctLambda: true }, rng(1, 'cutmix', 0, round)),
    mixup: (round: number): unknown => mixupBatch(images, targets, SHAPE, K, { ...opts, alpha: 0.2 }, rng(1, 'mixup', 0, round)),
  };
  const times: Record<keyof typeof work, number[]> = { copy: [], cutmix: [], mixup: [] };
  for (let round = -3; round < ROUNDS; round++) {
    for (const name of ['copy', 'cutmix', 'mixup'] as const) {
      const start = performance.now();
      work[name](round);
      if (round >= 0) times[name].push(performance.now() - start); // the first rounds warm up
    }
  }
  const gbps = (name: keyof typeof work): number => images.byteLength / (median(times[name]) / 1000) / 1e9;
  const against = { name: 'plain copy of the same bytes (new Float32Array(batch)), same rounds', value: gbps('copy'), unit: 'GB/s' };
  for (const name of ['cutmix', 'mixup'] as const) {
    const ratio = gbps(name) / against.value;
    out({ name: `${name} on 16x224x224x3 float32 (median of ${ROUNDS} interleaved rounds)`, value: gbps(name), unit: 'GB/s', against, ratio, target: '>= 0.5x', pass: ratio >= 0.5 });
  }
}

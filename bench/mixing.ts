/**
 * cutmix and mixup on 16x224x224x3 float32 batches beside a plain copy of the same bytes, timed in
 * interleaved rounds (in a new random order each round) and compared by their medians, so the
 * machine's drifting load, the garbage collector and the allocator hit all alike. Each into a new
 * batch (what the operators do after any other operator) against a copy into a new array, and in
 * place (what they do after `batch`) against a copy into an existing one. In a process of its
 * own: after the chain section (its decode workers, its 300 MB cache) malloc hands back memory in
 * another state, and copies into new arrays swung from 2.5 to 13 GB/s with it.
 *
 * Run alone: node dist/bench/mixing.js run  (prints the figures, one JSON line each)
 */
import { pathToFileURL } from 'node:url';
import { uninitializedFloats } from '../src/core/image.js';
import { cutmixBatch, mixupBatch, oneHotLabels } from '../src/core/mix.js';
import { rng } from '../src/core/random.js';
import { runInChild } from './child.js';
import type { Figure } from './report.js';
import { sized } from './size.js';

const SHAPE = sized([16, 224, 224, 3] as const, [4, 16, 16, 3] as const);
const K = 120;
const ROUNDS = sized(100, 3);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

export async function benchMixing(out: (f: Figure) => void): Promise<void> {
  for (const line of (await runInChild(import.meta.filename, ['run'])).split('\n')) out(JSON.parse(line) as Figure);
}

function measure(out: (f: Figure) => void): void {
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3];
  const r = rng(1, 'bench-mixing');
  const images = Float32Array.from({ length: n }, () => r.next());
  const targets = oneHotLabels(
    Int32Array.from({ length: SHAPE[0] }, () => r.int(K)),
    K,
  );
  const opts = { alpha: 1, prob: 1, perSample: false };
  const own = new Float32Array(images);
  const spare = new Float32Array(images.length);
  const work = {
    // The limit: a fresh array holding the batch, what a mixing step must at least produce, made
    // the fastest way we have (unzeroed memory, as the mixing steps' own outputs, then one memcpy).
    copy: (): unknown => uninitializedFloats(images.length).set(images),
    // The limit for the in-place forms, which allocate nothing: a copy into an existing array.
    'copy into an existing array': (): unknown => spare.set(images),
    cutmix: (round: number): unknown =>
      cutmixBatch(images, targets, SHAPE, K, { ...opts, correctLambda: true }, rng(1, 'cutmix', 0, round)),
    mixup: (round: number): unknown => mixupBatch(images, targets, SHAPE, K, { ...opts, alpha: 0.2 }, rng(1, 'mixup', 0, round)),
    // In place on a batch of its own (refilled outside the timing, as `batch` would have written it).
    'cutmix in place': (round: number): unknown =>
      cutmixBatch(own, targets, SHAPE, K, { ...opts, correctLambda: true, inPlace: true }, rng(1, 'cutmix', 0, round)),
    'mixup in place': (round: number): unknown =>
      mixupBatch(own, targets, SHAPE, K, { ...opts, alpha: 0.2, inPlace: true }, rng(1, 'mixup', 0, round)),
  };
  const names = Object.keys(work) as (keyof typeof work)[];
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<keyof typeof work, number[]>;
  const order = rng(1, 'bench-mixing-order');
  for (let round = -3; round < ROUNDS; round++) {
    // A new order each round: whichever step comes after a garbage collection gets reused memory
    // and the others fresh pages (page faults), so no step may always sit in the same place.
    for (const k of order.permutation(names.length)) {
      const name = names[k] as keyof typeof work;
      own.set(images);
      const start = performance.now();
      work[name](round);
      if (round >= 0) times[name].push(performance.now() - start); // the first rounds warm up
    }
  }
  const gbps = (name: keyof typeof work): number => images.byteLength / (median(times[name]) / 1000) / 1e9;
  const fresh = { name: 'plain copy of the same bytes into a new unzeroed array, same rounds', value: gbps('copy'), unit: 'GB/s' };
  const existing = {
    name: 'plain copy of the same bytes into an existing array, same rounds',
    value: gbps('copy into an existing array'),
    unit: 'GB/s',
  };
  for (const name of ['cutmix', 'mixup', 'cutmix in place', 'mixup in place'] as const) {
    const against = name.endsWith('in place') ? existing : fresh;
    const ratio = gbps(name) / against.value;
    out({
      name: `${name} on ${SHAPE.join('x')} float32 (median of ${ROUNDS} interleaved rounds)`,
      value: gbps(name),
      unit: 'GB/s',
      against,
      ratio,
      target: '>= 0.5x',
      pass: ratio >= 0.5,
    });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'run') {
  measure((f) => console.log(JSON.stringify(f)));
  process.exit(0);
}

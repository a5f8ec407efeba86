/**
 * Does the model wait for data? A real fitDataset run on the reference chain (224x224, batch 16,
 * CutMix) training the zoo's simple CNN on the fastest backend here, with prefetch on and off:
 * the share of step time the model spent waiting in the sink.
 */
import * as tf from '@tensorflow/tfjs';
import { take } from 'rxjs';
import { resolveBackend } from '../src/backend/index.js';
import { simpleCnn } from '../src/models/index.js';
import { augment, batch, cutmix, imageFolder, normalizeResize, prefetch, toTfDataset, type SinkStats } from '../src/index.js';
import type { Figure } from './report.js';
import { peerData } from './peers.js';
import { sized } from './size.js';

const STEPS = sized(24, 2);
const SIZE = sized(224, 32);

async function waitShare(root: string, ahead: number): Promise<SinkStats> {
  const train$ = imageFolder(root, { seed: 1 }).pipe(
    normalizeResize({ size: SIZE }),
    augment({ flip: 'horizontal', brightness: 0.2 }),
    batch(16),
    cutmix({ alpha: 1 }),
    prefetch(ahead),
    take(STEPS),
  );
  // A narrow CNN: its wasm step is near the time the chain takes to make a batch, the case where
  // prefetch decides whether the model waits.
  const model = simpleCnn({ inputSize: SIZE, numClasses: 20, seed: 1, filters: [4, 8], hidden: 32 });
  let stats: SinkStats | undefined;
  await model.fitDataset(toTfDataset(train$, { onEpochEnd: (s) => (stats = s) }), { epochs: 1, verbose: 0 });
  model.dispose();
  if (!stats) throw new Error('bench starve: the epoch did not end');
  return stats;
}

export async function benchStarve(out: (f: Figure) => void): Promise<void> {
  const backend = await resolveBackend();
  const root = await peerData();
  await waitShare(root, 2); // warm-up: kernels compiled, files in the page cache, as in a real run after step 1
  const on = await waitShare(root, 2);
  const off = await waitShare(root, 0);
  const share = (s: SinkStats): number => s.waitMs / (s.waitMs + s.consumerMs);
  out({
    name: `share of step time waiting for data, fitDataset ${STEPS} steps, simple-cnn [4, 8] ${SIZE}x${SIZE} on ${backend.name}, prefetch(2)`,
    value: 100 * share(on),
    unit: '%',
    against: { name: 'prefetch(0), same run', value: 100 * share(off), unit: '%' },
    target: '< 5%',
    pass: share(on) < 0.05,
    stepMs: on.consumerMs / on.values,
  });
  tf.disposeVariables();
}

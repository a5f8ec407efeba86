/**
 * Training throughput of the small ResNet on wasm (with our gradient kernels) against cpu, in the
 * same run: the figure that says whether training without libtensorflow is practical.
 */
import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { resolveBackend } from '../src/backend/index.js';
import { rng } from '../src/core/random.js';
import { resnet } from '../src/models/index.js';
import { emit, type Figure } from './report.js';
import { sized } from './size.js';

/**
 * Bench shape, shared by both backends so the rates compare like with like. cpu runs until it
 * has done at least one step and `cpuSeconds` have passed: one of its steps takes as long as
 * dozens on wasm, and images/s is a rate either way.
 */
export const BENCH_BACKEND = sized(
  { inputSize: 32, numClasses: 10, batch: 16, wasmSteps: 40, cpuSeconds: 20 },
  { inputSize: 8, numClasses: 10, batch: 2, wasmSteps: 2, cpuSeconds: 0 },
);

function syntheticBatch(seed: number, batch: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const { inputSize: s, numClasses } = BENCH_BACKEND;
  const r = rng(seed, 'bench-backend', batch);
  const x = Float32Array.from({ length: batch * s * s * 3 }, () => r.normal());
  const labels = Array.from({ length: batch }, () => r.int(numClasses));
  return { xs: tf.tensor4d(x, [batch, s, s, 3]), ys: tf.oneHot(labels, numClasses).toFloat() as tf.Tensor2D };
}

/** What one backend managed: timed steps, seconds, images/s. */
interface Rate {
  readonly steps: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

/**
 * Times trainOnBatch on the active backend after one warm-up step on a single image (creates
 * the optimizer's slots and initialises kernels without costing cpu a full batch).
 */
async function trainRate(minSteps: number, minSeconds: number): Promise<Rate> {
  const { inputSize, numClasses, batch } = BENCH_BACKEND;
  const model = resnet({ inputSize, numClasses, seed: 1 });
  const warm = syntheticBatch(2, 1);
  const { xs, ys } = syntheticBatch(1, batch);
  try {
    await model.trainOnBatch(warm.xs, warm.ys);
    let steps = 0;
    const t0 = performance.now();
    while (steps < minSteps || performance.now() - t0 < minSeconds * 1000) {
      await model.trainOnBatch(xs, ys);
      steps++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { steps, seconds, imagesPerSecond: (steps * batch) / seconds };
  } finally {
    model.dispose();
    tf.dispose([xs, ys, warm.xs, warm.ys]);
  }
}

/** Emits "train resnet wasm vs cpu": wasm images/s against cpu images/s, target >= 100x. */
export async function benchBackend(out: (f: Figure) => void = emit): Promise<void> {
  const before = tf.getBackend();
  await resolveBackend('wasm');
  const wasm = await trainRate(BENCH_BACKEND.wasmSteps, 0);
  await resolveBackend('cpu');
  const cpu = await trainRate(1, BENCH_BACKEND.cpuSeconds);
  if (before !== undefined && before !== tf.getBackend()) await tf.setBackend(before);
  const ratio = wasm.imagesPerSecond / cpu.imagesPerSecond;
  out({
    name: 'train resnet wasm vs cpu',
    value: wasm.imagesPerSecond,
    unit: 'images/s',
    against: { name: 'cpu backend, same model and batch', value: cpu.imagesPerSecond, unit: 'images/s' },
    ratio,
    target: '>= 100x',
    pass: ratio >= 100,
    model: `resnet8 ${BENCH_BACKEND.inputSize}x${BENCH_BACKEND.inputSize}x3, ${BENCH_BACKEND.numClasses} classes`,
    batch: BENCH_BACKEND.batch,
    steps: { wasm: wasm.steps, cpu: cpu.steps },
    seconds: { wasm: wasm.seconds, cpu: cpu.seconds },
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchBackend();
}

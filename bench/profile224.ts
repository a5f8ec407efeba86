/**
 * `node dist/bench/profile224.js [mobilenetv2|resnet50] [threads] [size]`: one training step of a
 * 224-px backbone on wasm under tf.profile, kernel time summed by kernel name (and, for the top
 * ones, by input shape): where a step's time goes. Not part of `npm run bench` (no peer).
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { setKernelThreads, resolveBackend } from '../src/backend/index.js';
import { backboneParams, mobileNetV2Keras, resNet50Keras } from './backbones.js';

const name = process.argv[2] ?? 'mobilenetv2';
const threads = Number(process.argv[3] ?? os.availableParallelism());
const size = Number(process.argv[4] ?? 224);
const batch = 16;
await resolveBackend('wasm');
setKernelThreads(threads);
const model = name === 'resnet50' ? resNet50Keras(size, 120) : mobileNetV2Keras(size, 120);
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
console.error(`${name}: ${model.countParams()} parameters, backbone ${backboneParams(model)}`);
const xs = tf.randomNormal([batch, size, size, 3]);
const ys = tf.oneHot(tf.randomUniform([batch], 0, 120, 'int32'), 120).toFloat();
let t = performance.now();
await model.trainOnBatch(xs, ys);
console.error(`warm-up step ${((performance.now() - t) / 1000).toFixed(2)} s`);
t = performance.now();
await model.trainOnBatch(xs, ys);
const plain = (performance.now() - t) / 1000;
t = performance.now();
const info = await tf.profile(async () => {
  await model.trainOnBatch(xs, ys);
});
const profiled = (performance.now() - t) / 1000;
const byName = new Map<string, { ms: number; n: number }>();
const byShape = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const k of info.kernels) {
  const ms = Number(await k.kernelTimeMs);
  total += ms;
  const a = byName.get(k.name) ?? { ms: 0, n: 0 };
  a.ms += ms;
  a.n++;
  byName.set(k.name, a);
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const s = byShape.get(key) ?? { ms: 0, n: 0 };
  s.ms += ms;
  s.n++;
  byShape.set(key, s);
}
console.log(
  JSON.stringify({
    model: name,
    threads,
    size,
    batch,
    stepSeconds: plain,
    profiledSeconds: profiled,
    kernelSeconds: total / 1000,
    loadAverage: os.loadavg(),
  }),
);
for (const [k, v] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25))
  console.log(
    `${(v.ms / 1000).toFixed(3).padStart(8)} s ${((100 * v.ms) / total).toFixed(1).padStart(5)}%  x${String(v.n).padStart(4)}  ${k}`,
  );
console.log('--- by shape');
for (const [k, v] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30))
  console.log(
    `${(v.ms / 1000).toFixed(3).padStart(8)} s ${((100 * v.ms) / total).toFixed(1).padStart(5)}%  x${String(v.n).padStart(3)}  ${k}`,
  );
process.exit(0);

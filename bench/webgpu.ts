/**
 * Training throughput on webgpu (Dawn) beside wasm with the native kernels, the same workloads as
 * train.ts, measured in the same run: one line per workload where an adapter is here, none (a
 * note on stderr) where not. A software adapter (lavapipe, SwiftShader) is labelled so: it runs
 * the GPU's shaders on the CPU, and its figure says the route works, not what a GPU would do.
 * PyTorch CUDA, the peer the issue names for a real GPU, needs one: where none is, `peer` says so.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { describeAdapter, parseGpuAdapter, releaseWebGpu, resolveBackend, setKernelThreads } from '../src/backend/index.js';
import { probeWebGpu } from '../src/backend/webgpu/setup.js';
import { emit, type Figure } from './report.js';
import { BENCH_TRAIN, syntheticBatch, workloads, type Workload } from './train.js';

/** Warm-up steps (the first compiles every shader: 25-57 s cold on lavapipe) and timed steps. */
export const BENCH_WEBGPU = { warmup: 3, steps: 20 } as const;

/** images/s of trainOnBatch on the active backend after the warm-up, and the warm-up's seconds. */
async function rate(w: Workload): Promise<{ imagesPerSecond: number; warmupSeconds: number }> {
  const model = w.make();
  const { xs, ys } = syntheticBatch(w.size, BENCH_TRAIN.batch, 1);
  try {
    const w0 = performance.now();
    for (let i = 0; i < BENCH_WEBGPU.warmup; i++) await model.trainOnBatch(xs, ys);
    const t0 = performance.now();
    for (let i = 0; i < BENCH_WEBGPU.steps; i++) await model.trainOnBatch(xs, ys);
    const seconds = (performance.now() - t0) / 1000;
    return { imagesPerSecond: (BENCH_WEBGPU.steps * BENCH_TRAIN.batch) / seconds, warmupSeconds: (t0 - w0) / 1000 };
  } finally {
    model.dispose();
    tf.dispose([xs, ys]);
  }
}

/** Emits "train <model> webgpu vs wasm" per workload, or a note on stderr where no adapter is here. */
export async function benchWebGpu(out: (f: Figure) => void = emit): Promise<void> {
  const request = parseGpuAdapter(process.env.MIXSTREAM_GPU_ADAPTER);
  const probe = await probeWebGpu(request);
  if (!('adapter' in probe)) {
    process.stderr.write(`bench: no webgpu lines: ${probe.why}\n`);
    return;
  }
  const adapter = probe.adapter;
  const kind = adapter.fallback ? 'software' : 'hardware';
  for (const w of workloads()) {
    const load = [os.loadavg()[0] as number];
    await resolveBackend('wasm');
    setKernelThreads(os.availableParallelism());
    const wasm = await rate(w);
    await resolveBackend('webgpu', { gpuAdapter: request });
    const gpu = await rate(w);
    out({
      name: `train ${w.label} ${w.size}x${w.size} batch ${BENCH_TRAIN.batch} webgpu (${kind}) vs wasm`,
      value: gpu.imagesPerSecond,
      unit: 'images/s',
      against: {
        name: `wasm + native kernels, ${os.availableParallelism()} threads, same model and batch`,
        value: wasm.imagesPerSecond,
        unit: 'images/s',
      },
      ratio: gpu.imagesPerSecond / wasm.imagesPerSecond,
      adapter: { ...adapter, label: describeAdapter(adapter) },
      software: adapter.fallback,
      ...(adapter.fallback ? { note: 'software adapter: the GPU route run on the CPU, a check of the route, not a GPU figure' } : {}),
      warmupSeconds: { webgpu: gpu.warmupSeconds, wasm: wasm.warmupSeconds },
      steps: BENCH_WEBGPU.steps,
      loadAverage: [...load, os.loadavg()[0] as number],
      peer: adapter.fallback
        ? 'PyTorch CUDA not measured: no GPU on this machine'
        : 'PyTorch CUDA not measured by this bench (see docs/gpu.md)',
    });
  }
  releaseWebGpu();
  await resolveBackend('wasm');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchWebGpu();
}

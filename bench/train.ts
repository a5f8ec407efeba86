/**
 * One run's training throughput on wasm beside PyTorch's on the same CPU, measured in the same run
 * (../shared/bench/peer_torch_train.py: Adam, cross-entropy, random data, every core): ResNet-8 at
 * 32x32 batch 16, and simple-cnn at the ablation's default size. Where python3-torch is missing the
 * line says so and carries no peer figure.
 */
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { backendKernelsInfo, kernelThreads, resolveBackend, setKernelThreads } from '../src/backend/index.js';
import { accelerator } from '../src/core/native.js';
import { rng } from '../src/core/random.js';
import { DEFAULT_CONFIG, DEFAULT_MODEL_OPTIONS } from '../src/experiment/plan/config.js';
import { resnet, simpleCnn } from '../src/models/index.js';
import { SHARED_BENCH } from './peers.js';
import { emit, type Figure } from './report.js';
import { sized, TINY, TINY_PEER } from './size.js';
import { errorMessage } from '../src/core/idioms.js';

/** Batch 16 for both, as the figures; simple-cnn's filters, hidden units and size are the ablation's. */
export const BENCH_TRAIN = sized(
  { batch: 16, steps: 40, warmup: 5, torchSteps: 60, classes: 10 },
  { batch: 2, steps: 1, warmup: 1, torchSteps: 1, classes: 10 },
);

const RESNET_SIZE = sized(32, 8);

interface Workload {
  readonly label: string;
  readonly size: number;
  /** peer_torch_train.py's arguments after steps and batch: model, size, and simple-cnn's F1,F2,H. */
  readonly peerArgs: string[];
  readonly make: () => tf.LayersModel;
}

function workloads(): Workload[] {
  const opts = DEFAULT_MODEL_OPTIONS['simple-cnn'] as { filters: [number, number]; hidden: number };
  const size = sized(DEFAULT_CONFIG.size, 8);
  return [
    {
      label: 'ResNet-8',
      size: RESNET_SIZE,
      peerArgs: ['resnet8', String(RESNET_SIZE)],
      make: () => resnet({ inputSize: RESNET_SIZE, numClasses: BENCH_TRAIN.classes, seed: 1 }),
    },
    {
      label: `simple-cnn ${opts.filters.join(',')},${opts.hidden}`,
      size,
      peerArgs: ['simplecnn', String(size), `${opts.filters.join(',')},${opts.hidden}`],
      make: () => simpleCnn({ inputSize: size, numClasses: BENCH_TRAIN.classes, seed: 1, filters: opts.filters, hidden: opts.hidden }),
    },
  ];
}

function syntheticBatch(size: number, batch: number, seed: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const r = rng(seed, 'bench-train', batch);
  const x = Float32Array.from({ length: batch * size * size * 3 }, () => r.normal());
  const labels = Array.from({ length: batch }, () => r.int(BENCH_TRAIN.classes));
  return { xs: tf.tensor4d(x, [batch, size, size, 3]), ys: tf.oneHot(labels, BENCH_TRAIN.classes).toFloat() as tf.Tensor2D };
}

/**
 * images/s of trainOnBatch after five warm-up steps (as the peer warms up five), on `threads`
 * kernel threads (default every core, as the peer); `native` false hides the addon.
 */
async function ourRate(w: Workload, native = true, threads = os.availableParallelism()): Promise<{ wall: number; cpu: number }> {
  const addon = accelerator.addon;
  const before = kernelThreads();
  setKernelThreads(threads);
  if (!native) accelerator.addon = undefined;
  const model = w.make();
  const { xs, ys } = syntheticBatch(w.size, BENCH_TRAIN.batch, 1);
  try {
    for (let i = 0; i < BENCH_TRAIN.warmup; i++) await model.trainOnBatch(xs, ys);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < BENCH_TRAIN.steps; i++) await model.trainOnBatch(xs, ys);
    const c = process.cpuUsage(c0);
    const images = BENCH_TRAIN.steps * BENCH_TRAIN.batch;
    // CPU time counts every thread of the process (GC helpers too): conservative for us.
    return { wall: images / ((performance.now() - t0) / 1000), cpu: images / ((c.user + c.system) / 1e6) };
  } finally {
    accelerator.addon = addon;
    setKernelThreads(before);
    model.dispose();
    tf.dispose([xs, ys]);
  }
}

/**
 * PyTorch's images/s and thread count, or why there is none. `oneThread` runs the same script with
 * os.cpu_count() reporting 1 (the script sizes torch's pool from it): the per-core figure, which is
 * what counts when the ablation runs one process per core.
 */
async function torchRate(
  w: Workload,
  oneThread = false,
  cpuClock = false,
): Promise<{ value: number; threads: number; torch: string } | { missing: string }> {
  if (TINY) return { missing: TINY_PEER };
  const python = '/usr/bin/python3';
  try {
    await promisify(execFile)(python, ['-c', 'import torch']);
  } catch {
    return { missing: 'python3-torch is not installed (apt-get install -y python3-torch)' };
  }
  const script = path.join(SHARED_BENCH, 'peer_torch_train.py');
  let stdout: string;
  try {
    const args = [String(BENCH_TRAIN.torchSteps), String(BENCH_TRAIN.batch), ...w.peerArgs];
    const run = oneThread
      ? [
          '-c',
          // cpuClock: the script's timer becomes process CPU time, so its rate is images per CPU-second.
          `import os, runpy, sys, time; os.cpu_count = lambda: 1; ${cpuClock ? 'time.perf_counter = time.process_time; ' : ''}sys.argv = ${JSON.stringify([script, ...args])}; runpy.run_path(sys.argv[0], run_name='__main__')`,
        ]
      : [script, ...args];
    ({ stdout } = await promisify(execFile)(python, run, { maxBuffer: 1 << 20 }));
  } catch (e) {
    // A peer that cannot run is reported as such, never replaced by a number.
    return {
      missing: `${script} failed (set SHARED_BENCH to ../shared/bench's path): ${errorMessage(e).split('\n')[0]}`,
    };
  }
  const line = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { images_per_s?: number; threads?: number; torch?: string };
  if (typeof line.images_per_s !== 'number') return { missing: `peer_torch_train.py printed no rate: ${stdout.trim().slice(0, 200)}` };
  return { value: line.images_per_s, threads: line.threads ?? 0, torch: line.torch ?? '?' };
}

type Peer = Awaited<ReturnType<typeof torchRate>>;

/** The median of what was measured (the lower middle of an even count). */
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1] ?? 0;

/** The peer's rounds: its median rate and every round's, or why it is missing. */
function peerMedian(rounds: readonly Peer[]): { value: number; threads: number; torch: string; rounds: number[] } | { missing: string } {
  const ok = rounds.filter((p): p is Extract<Peer, { value: number }> => !('missing' in p));
  if (ok.length === 0) return { missing: rounds.map((p) => ('missing' in p ? p.missing : '')).find((m) => m !== '') ?? 'not run' };
  return { value: median(ok.map((p) => p.value)), threads: ok[0]!.threads, torch: ok[0]!.torch, rounds: ok.map((p) => p.value) };
}

/**
 * Emits "train <model> vs PyTorch" per workload. The machine is shared and noisy (PyTorch's own
 * rate on this VM moves 320-1,020 images/s for ResNet-8 from one run to the next), so ours and
 * PyTorch's (all cores, then one thread) alternate over ROUNDS rounds (MIXSTREAM_BENCH_ROUNDS,
 * default 3) and each side is its median round, every round on the line; the load average before
 * and after is on it too.
 */
export async function benchTrain(out: (f: Figure) => void = emit): Promise<void> {
  const ROUNDS = TINY ? 1 : Math.max(1, Number(process.env.MIXSTREAM_BENCH_ROUNDS ?? 3) || 3);
  await resolveBackend('wasm');
  const kernels = backendKernelsInfo();
  for (const w of workloads()) {
    const load = [os.loadavg()[0] as number];
    const oursAll: number[] = [];
    const oursOneAll: number[] = [];
    const oursCpuAll: number[] = [];
    const wasmOnlyAll: number[] = [];
    const peers: Peer[] = [];
    const peersOne: Peer[] = [];
    const peersCpu: Peer[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      oursAll.push((await ourRate(w)).wall);
      const one = await ourRate(w, true, 1);
      oursOneAll.push(one.wall);
      oursCpuAll.push(one.cpu);
      peers.push(await torchRate(w));
      peersOne.push(await torchRate(w, true));
      peersCpu.push(await torchRate(w, true, true));
      // Without the native addon (XNNPACK's convs, tfjs's kernels): what a machine without a compiler gets.
      if (accelerator.addon !== undefined) wasmOnlyAll.push((await ourRate(w, false)).wall);
    }
    const ours = median(oursAll);
    const oursOne = median(oursOneAll);
    const oursCpu = median(oursCpuAll);
    const wasmOnly = wasmOnlyAll.length > 0 ? median(wasmOnlyAll) : undefined;
    const peer = peerMedian(peers);
    const peerOne = peerMedian(peersOne);
    const peerCpu = peerMedian(peersCpu);
    load.push(os.loadavg()[0] as number);
    const common = {
      name: `train ${w.label} ${w.size}x${w.size} batch ${BENCH_TRAIN.batch} vs PyTorch`,
      value: ours,
      unit: 'images/s',
      target: w.label === 'ResNet-8' ? '>= 0.5x, then >= 1.0x' : '>= 1.0x',
      kernels,
      loadAverage: load,
      rounds: ROUNDS,
      oursRounds: oursAll,
      ...('missing' in peer ? {} : { pytorchRounds: peer.rounds }),
      ...(wasmOnly === undefined ? {} : { withoutNative: { value: wasmOnly, unit: 'images/s' } }),
      ...('missing' in peerOne
        ? {}
        : {
            oneThread: {
              name: 'both on 1 thread',
              ours: oursOne,
              pytorch: peerOne.value,
              unit: 'images/s',
              ratio: oursOne / peerOne.value,
            },
          }),
      // Images per CPU-second, both on one thread: what a loaded machine distorts least (PyTorch's
      // thread pool loses most to other load), and what counts for one ablation process per core.
      ...('missing' in peerCpu
        ? {}
        : {
            perCpuSecond: { ours: oursCpu, pytorchOneThread: peerCpu.value, unit: 'images per CPU-second', ratio: oursCpu / peerCpu.value },
          }),
    };
    if ('missing' in peer) out({ ...common, peer: peer.missing });
    else {
      const ratio = ours / peer.value;
      out({
        ...common,
        against: {
          name: `PyTorch ${peer.torch} CPU, ${peer.threads} threads, same model, batch and optimizer`,
          value: peer.value,
          unit: 'images/s',
        },
        ratio,
        // ResNet-8's targets are 0.5x, then 1.0x: pass is the second.
        pass: ratio >= 1,
      });
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchTrain();
}

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batch, mixup, normalizeResize, oneHot } from '../../src/operators/index.js';
import { tap } from 'rxjs';
import { previewPng, toAsyncIterable, toTfDataset } from '../../src/sinks/index.js';
import { fromArrays } from '../../src/sources/fromArrays.js';
import { collect } from '../helpers.js';
import sharp from 'sharp';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function arrays(n: number) {
  const images = new Uint8Array(n * 4 * 4 * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37) % 256;
  return fromArrays({ images, shape: [n, 4, 4, 3], labels: Array.from({ length: n }, (_, i) => i % 3) }, { seed: 1, shuffle: true });
}

describe('toTfDataset', () => {
  it('feeds fitDataset: fresh epoch per iterator, tensors handed over and disposed, memory back to baseline each epoch', async () => {
    const ds = toTfDataset(arrays(20).pipe(normalizeResize({ size: 4 }), batch(6), mixup({ alpha: 0.5, seed: 2 })));
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [4, 4, 3] }), tf.layers.dense({ units: 3, activation: 'softmax' })],
    });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const counts: number[] = [];
    const seen: number[] = [];
    const h = await model.fitDataset(ds, {
      epochs: 4,
      verbose: 0,
      validationData: toTfDataset(arrays(7).pipe(normalizeResize({ size: 4 }), batch(4), oneHot())),
      callbacks: {
        onBatchBegin: async () => {
          seen.push(tf.memory().numTensors);
        },
        onEpochEnd: async () => {
          counts.push(tf.memory().numTensors);
        },
      },
    });
    expect(h.history.loss).toHaveLength(4);
    expect(h.history.val_loss).toHaveLength(4);
    // 20 samples in batches of 6: 4 steps an epoch, each a fresh subscription.
    expect(seen).toHaveLength(16);
    // The optimizer's state appears in the first epoch; after that nothing accumulates.
    expect(new Set(counts.slice(1)).size).toBe(1);
    model.dispose();
  });

  it('lets the event loop turn while a model reads batches already in memory (timers, I/O, signals are not held for an epoch)', async () => {
    const ds = toTfDataset(arrays(400).pipe(normalizeResize({ size: 4 }), batch(2), oneHot()));
    const it = await ds.iterator();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        tf.dispose(r.value as tf.TensorContainer);
        for (const end = performance.now() + 0.5; performance.now() < end;); // a training step's worth of work
      }
    } finally {
      clearInterval(timer);
    }
    // 200 batches, ~100 ms of work: a turn every ~10 ms lets the timer fire about ten times;
    // in microtasks only (before) it fired not once.
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('gives xs [B,H,W,C] and ys [B,K] matching the batch, and a fresh order per epoch', async () => {
    const ds = toTfDataset(arrays(9).pipe(normalizeResize({ size: 4 }), batch(4)));
    const epoch = async () => {
      const it = await ds.iterator();
      const out: number[][] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) {
        const { xs, ys } = r.value as { xs: tf.Tensor; ys: tf.Tensor };
        expect(xs.shape.slice(1)).toEqual([4, 4, 3]);
        expect(ys.shape[1]).toBe(3);
        const rowSums = ys.sum(1);
        expect((await rowSums.data()).every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
        rowSums.dispose();
        out.push(Array.from(await xs.data()));
        tf.dispose([xs, ys]);
      }
      return out;
    };
    const before = tf.memory().numTensors;
    const e0 = await epoch();
    const e1 = await epoch();
    expect(e0.map((x) => x.length)).toEqual([192, 192, 48]);
    expect(e0).not.toEqual(e1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('previews a batch as a PNG grid', async () => {
    const [b] = await collect(arrays(5).pipe(normalizeResize({ size: 4 }), batch(5)));
    const png = await previewPng(b!, { columns: 3, gap: 1 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 3 * 4 + 4, 2 * 4 + 3]);
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    // First tile's first pixel is the batch's first pixel, scaled to 0..255.
    expect(Array.from(data.subarray((1 * 16 + 1) * 3, (1 * 16 + 1) * 3 + 3))).toEqual(
      Array.from(b!.images.subarray(0, 3), (v) => Math.round(v * 255)),
    );
  });
});

describe("fitDataset's epoch e is the pipeline's epoch e", () => {
  it('fitDataset trains on the same batches as a custom loop over the same seed, epoch by epoch, with no epoch decoded for nothing', async () => {
    await tf.setBackend('cpu');
    const pipeline = (started: number[]) =>
      arrays(14).pipe(
        normalizeResize({ size: 4 }),
        tap((s) => s.index === 0 && started.push(s.epoch)),
        batch(4),
        mixup({ alpha: 0.5 }),
      );
    // What fitDataset trains on: the values its iterators hand it, in order.
    const fitStarted: number[] = [];
    const fitSeen: number[][] = [];
    const ds = toTfDataset(pipeline(fitStarted)).map((x) => {
      const { xs } = x as { xs: tf.Tensor };
      fitSeen.push(Array.from(xs.dataSync()));
      return x;
    });
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [4, 4, 3] }), tf.layers.dense({ units: 3, activation: 'softmax' })],
    });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    await model.fitDataset(ds, { epochs: 3, verbose: 0 });
    model.dispose();
    // The custom loop: three `for await` passes, epochs 0, 1, 2 of a fresh pipeline.
    const loopStarted: number[] = [];
    const loopSeen: number[][] = [];
    const iterable = toAsyncIterable(pipeline(loopStarted));
    for (let e = 0; e < 3; e++) for await (const b of iterable) loopSeen.push(Array.from(b.images));
    expect(loopStarted).toEqual([0, 1, 2]);
    expect(fitStarted).toEqual([0, 1, 2]); // was [0, 1, 2, 3]: epoch 0 decoded by an iterator fitDataset never read
    expect(fitSeen).toHaveLength(12);
    expect(fitSeen).toEqual(loopSeen);
  });
});

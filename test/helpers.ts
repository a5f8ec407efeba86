import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { from, lastValueFrom, take, toArray, type Observable, type OperatorFunction } from 'rxjs';
import type { Batch, ImageSample } from '../src/core/types.js';
import type { EpochRecord, RunRecord } from '../src/experiment/store/results.js';
import { pullSource } from '../src/sources/pullSource.js';

/** Epoch `epoch` of a hand-made run: val accuracy `valAccuracy`, val loss 2 - it, `extra` for the rest. */
export const epochRecord = (epoch: number, valAccuracy: number, extra: Partial<EpochRecord> = {}): EpochRecord => ({
  epoch,
  loss: 1,
  accuracy: 0.5,
  valLoss: 2 - valAccuracy,
  valAccuracy,
  seconds: 1,
  trainSeconds: 1,
  imagesPerSecond: 10,
  ...extra,
});

/**
 * A finished run of `arm` and `seed` made by hand (no training), for tests of results, statistics
 * and the report: on cpu, one epoch with 50 of 100 validation images right, unless `overrides` says.
 */
export const runRecord = (arm: string, seed: number, overrides: Partial<RunRecord> = {}): RunRecord => ({
  key: `${arm}|${seed}`,
  configHash: 'h',
  arm,
  seed,
  backend: 'cpu',
  pipeline: { train: '', trainSteps: [], validation: '', validationSteps: [] },
  model: { name: 'simple-cnn', options: {}, parameters: 1 },
  epochs: [epochRecord(1, 0.5, { valCorrect: 50, valImages: 100 })],
  seconds: 1,
  finishedAt: 'x',
  ...overrides,
});

/** A hand-made run whose epochs have the given val accuracies (val loss 2 - acc), for tests of results and comparisons. */
export const valRun = (arm: string, seed: number, valAccuracy: readonly number[], overrides: Partial<RunRecord> = {}): RunRecord =>
  runRecord(arm, seed, { epochs: valAccuracy.map((v, i) => epochRecord(i + 1, v)), ...overrides });

export const tempDir = (prefix = 'mixstream-'): Promise<string> => mkdtemp(path.join(os.tmpdir(), prefix));

/** Lets every pending callback run: n turns of the event loop (no timers). */
export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export const collect = <T>(source: Observable<T>): Promise<T[]> => lastValueFrom(source.pipe(toArray()), { defaultValue: [] });

/** A source of n tiny images that counts how many items it has handed out (its pulls). */
export function countingSource(n: number, size = 2, numClasses = 3): { source: Observable<ImageSample>; pulls: () => number } {
  let pulls = 0;
  const source = pullSource(function* (epoch) {
    for (let index = 0; index < n; index++) {
      pulls++;
      const image = new Float32Array(size * size * 3).fill(index / n);
      yield { image, height: size, width: size, channels: 3, label: index % numClasses, numClasses, origin: `item${index}`, epoch, index };
    }
  });
  return { source, pulls: () => pulls };
}

/** Bytes of every batch's images and targets, to compare runs bit for bit. */
export function fingerprint(batches: readonly Batch[]): Buffer {
  return Buffer.concat(
    batches.flatMap((b) => [
      Buffer.from(b.images.buffer, b.images.byteOffset, b.images.byteLength),
      Buffer.from((b.targets ?? b.labels).buffer),
    ]),
  );
}

/**
 * The RxJS checklist's firehose: a 100,000-item synchronous source through `operator` into
 * take(3). Returns the values that arrived and how many items the source had to hand out.
 */
export function firehoseIntoTake3<T, R>(operator: OperatorFunction<T, R>, make: (i: number) => T): { values: R[]; pulled: number } {
  let pulled = 0;
  function* firehose(): Generator<T> {
    for (let i = 0; i < 100_000; i++) {
      pulled++;
      yield make(i);
    }
  }
  const values: R[] = [];
  from(firehose())
    .pipe(operator, take(3))
    .subscribe((v) => values.push(v));
  return { values, pulled };
}

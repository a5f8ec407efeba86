/**
 * The paired design, end to end on a tiny in-memory task: an arm that is the baseline under
 * another name gives the baseline's numbers exactly, and an arm that corrupts half its training
 * labels is called worse once there are enough seeds.
 */
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { hashKeys, rng } from '../../src/core/random.js';
import type { ImageSample } from '../../src/core/types.js';
import { baselineArm, defaultArmRegistry, type AnyOperator, type Arm } from '../../src/experiment/plan/arms.js';
import { DEFAULT_CONFIG, type AblationConfig } from '../../src/experiment/plan/config.js';
import type { AblationData } from '../../src/experiment/data/data.js';
import { described, type SourceSample } from '../../src/experiment/data/pipeline.js';
import { batch, normalizeResize, oneHot } from '../../src/operators/index.js';
import { runAblation } from '../../src/experiment/run/runAblation.js';
import { pullSource } from '../../src/sources/pullSource.js';
import { tempDir } from '../helpers.js';

const SIDE = 4;
const CLASSES = 4;

/** Class c: a brighter quadrant c under pixel noise. Learnable in a few epochs, not perfectly. */
function samples(count: number, split: string): ImageSample[] {
  return Array.from({ length: count }, (_, i) => {
    const label = i % CLASSES;
    const r = rng(7, 'paired-test', split, i);
    const image = new Float32Array(SIDE * SIDE * 3);
    for (let y = 0; y < SIDE; y++)
      for (let x = 0; x < SIDE; x++) {
        const q = (y < SIDE / 2 ? 0 : 2) + (x < SIDE / 2 ? 0 : 1);
        for (let k = 0; k < 3; k++) image[(y * SIDE + x) * 3 + k] = (q === label ? 0.75 : 0.35) + 0.3 * r.normal();
      }
    return { image, height: SIDE, width: SIDE, channels: 3, label, numClasses: CLASSES, origin: `${split}/${i}`, epoch: 0, index: i };
  });
}

function tinyData(): AblationData {
  const train = samples(96, 'train');
  const validation = samples(64, 'val');
  const test = samples(32, 'test');
  return {
    location: 'memory',
    kind: 'memory',
    classes: ['q0', 'q1', 'q2', 'q3'],
    trainCount: train.length,
    validationCount: validation.length,
    fingerprint: 'paired-test',
    train: (seed) =>
      pullSource(function* (epoch) {
        const order = rng(seed, 'order', epoch).shuffle([...train]);
        for (const [index, s] of order.entries()) yield { ...s, epoch, index } as SourceSample;
      }),
    validation: () => pullSource(() => validation as SourceSample[]),
    testCount: test.length,
    test: () => pullSource(() => test as SourceSample[]),
  };
}

/** Half the training samples (fixed per sample) get a random label: built to be worse. */
const noisyArm: Arm = {
  name: 'noisy-labels',
  summary: 'half the training labels replaced by random ones',
  build: (seed, o) =>
    [
      normalizeResize({ size: o.size }),
      described(
        'labelNoise',
        { fraction: 0.5, seed },
        map((s: ImageSample) =>
          hashKeys([seed, 'noise', s.origin]) / 2 ** 32 < 0.5 ? { ...s, label: rng(seed, 'noise-label', s.origin).int(s.numClasses) } : s,
        ),
      ),
      batch(o.batchSize),
      oneHot(),
    ] as AnyOperator[],
};

describe('paired design', () => {
  it('gives a renamed baseline identical numbers (difference exactly 0, inconclusive) and calls a label-noise arm worse', async () => {
    const dir = await tempDir();
    const registry = defaultArmRegistry().with({ ...baselineArm, name: 'baseline-again' }, noisyArm);
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const config: AblationConfig = {
      ...DEFAULT_CONFIG,
      arms: ['baseline', 'baseline-again', 'noisy-labels'],
      seeds,
      epochs: 5,
      size: SIDE,
      batchSize: 16,
      shuffleWindow: 8,
      modelOptions: { filters: [4, 4], hidden: 16 },
      learningRate: 0.01,
      backend: 'wasm',
      out: dir,
    };
    const run = await runAblation(config, { registry, data: tinyData() });
    const runs = run.results.runs;
    for (const seed of seeds) {
      const a = runs.find((r) => r.arm === 'baseline' && r.seed === seed)!;
      const b = runs.find((r) => r.arm === 'baseline-again' && r.seed === seed)!;
      expect(b.epochs.map((e) => [e.loss, e.valAccuracy])).toEqual(a.epochs.map((e) => [e.loss, e.valAccuracy]));
    }
    for (const r of runs) expect(r.test?.images).toBe(32);
    const set = run.results.comparisons!;
    expect(set.comparisons[0]!.metric).toBe('testAccuracy'); // the test split, when there is one, is the headline
    expect(run.results.design?.pairedBy).toBe('seed');
    expect(set.baseline).toBe('baseline');
    const same = set.comparisons.filter((c) => c.arm === 'baseline-again');
    expect(same.length).toBeGreaterThan(0);
    for (const c of same) {
      expect(c.differences).toEqual(seeds.map(() => 0));
      expect(c.verdict).toBe('inconclusive');
    }
    const worse = set.comparisons.find((c) => c.arm === 'noisy-labels' && c.metric === 'lastKValAccuracy')!;
    expect(worse.verdict).toBe('worse');
    expect(worse.ci95![1]).toBeLessThan(0);
  }, 120_000);
});

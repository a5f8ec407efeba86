import { filter, lastValueFrom, map, pipe, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/core/types.js';
import {
  ArmRegistry,
  augmentedBatches,
  buildArm,
  plainPipeline,
  defaultArmRegistry,
  REFERENCE_ARMS,
  UnknownArmError,
  type Arm,
} from '../../src/experiment/plan/arms.js';
import { describeSteps, descriptionOf } from '../../src/experiment/data/pipeline.js';
import { batch, cutmix, normalizeResize, oneHot, prefetch } from '../../src/operators/index.js';
import { fromArrays } from '../../src/sources/fromArrays.js';

const options = { size: 4, batchSize: 4, shuffleWindow: 8 };

describe('arms', () => {
  it('declares the reference arms as operator compositions, described step by step', () => {
    const registry = defaultArmRegistry();
    expect(registry.names()).toEqual(['baseline', 'augment', 'cutmix', 'mixup']);
    const opsOf = (name: string): string[] => buildArm(registry.get(name), 3, options).steps.map((s) => s.op);
    expect(opsOf('baseline')).toEqual(['normalizeResize', 'batch', 'oneHot']);
    expect(plainPipeline(options).describe()).toBe('normalizeResize({"size":4}) -> batch({"size":4}) -> oneHot({})');
    expect(opsOf('augment')).toEqual(['normalizeResize', 'augment', 'shuffleWindow', 'batch', 'oneHot']);
    expect(opsOf('cutmix')).toEqual(['normalizeResize', 'augment', 'shuffleWindow', 'batch', 'cutmix']);
    expect(opsOf('mixup')).toEqual(['normalizeResize', 'augment', 'shuffleWindow', 'batch', 'mixup']);
    expect(buildArm(registry.get('cutmix'), 3, options).describe()).toBe(
      'normalizeResize({"size":4}) -> augment({"flip":"horizontal","brightness":0.2,"seed":3}) -> shuffleWindow({"size":8,"seed":3}) -> batch({"size":4}) -> cutmix({"alpha":1,"seed":3})',
    );
    expect(buildArm(registry.get('mixup'), 5, options).steps.at(-1)).toEqual({ op: 'mixup', options: { alpha: 0.2, seed: 5 } });
  });

  it('is a registry users extend without touching the default one', () => {
    const base = defaultArmRegistry();
    const mine = base.with({
      name: 'cutmix-half',
      summary: 'alpha 0.5',
      build: (seed, o) => [...augmentedBatches(seed, o), cutmix({ alpha: 0.5, seed })],
    });
    expect(mine.names()).toContain('cutmix-half');
    expect(base.has('cutmix-half')).toBe(false);
    expect(() => base.get('nope')).toThrow(UnknownArmError);
    expect(() => base.get('nope')).toThrow(/known arms: baseline, augment, cutmix, mixup/);
    expect(() => new ArmRegistry(REFERENCE_ARMS).register(REFERENCE_ARMS[0]!)).toThrow(/already registered/);
    expect(() => new ArmRegistry().register({ ...REFERENCE_ARMS[0]!, name: '<b>' })).toThrow(/letters, digits/);
  });

  it("runs each arm's operator on a source: mixed targets for cutmix and mixup, one-hot otherwise", async () => {
    const n = 8;
    const images = new Float32Array(n * 4 * 4 * 3).map((_, i) => (i % 7) / 7);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const source = (): ReturnType<typeof fromArrays> =>
      fromArrays({ images, labels, shape: [n, 4, 4, 3], numClasses: 2 }, { shuffle: false });
    for (const arm of REFERENCE_ARMS) {
      const batches: Batch[] = await lastValueFrom(source().pipe(buildArm(arm, 1, options).operator, toArray()));
      expect(batches.map((b) => b.shape[0])).toEqual([4, 4]);
      const t = batches.flatMap((b) => [...(b.targets ?? [])]);
      expect(t).toHaveLength(n * 2);
      const soft = t.some((v) => v > 0 && v < 1);
      expect(soft, arm.name).toBe(arm.name === 'cutmix' || arm.name === 'mixup');
    }
  });

  it('each mixstream operator carries its description; functions are dropped from options; a foreign one is named by its function', () => {
    const nr = normalizeResize({ size: 8, onSkip: () => undefined });
    expect(descriptionOf(nr)).toEqual({ op: 'normalizeResize', options: { size: 8 } });
    expect(describeSteps([descriptionOf(nr), descriptionOf(oneHot()), descriptionOf(prefetch(2))])).toBe(
      'normalizeResize({"size":8}) -> oneHot({}) -> prefetch({"count":2})',
    );
    expect(Object.keys(nr)).toEqual([]); // not enumerable: the operator is a plain function
    function double<T>(s: T): T {
      return s;
    }
    expect(descriptionOf(double)).toEqual({ op: 'double', options: {} });
  });

  it('an arm is plain RxJS: a list of operators or one pipe(...), with any RxJS operator between, recorded step by step', async () => {
    const listed: Arm = {
      name: 'listed',
      summary: 'a list',
      build: (seed, o) => [
        normalizeResize({ size: o.size }),
        filter((s: { label: number }) => s.label >= 0),
        batch(o.batchSize),
        cutmix({ alpha: 1, seed }),
      ],
    };
    const piped: Arm = {
      name: 'piped',
      summary: 'one pipe',
      build: (_seed, o) =>
        pipe(
          normalizeResize({ size: o.size }),
          map((s) => s),
          batch(o.batchSize),
          oneHot(),
        ),
    };
    const built = buildArm(listed, 2, options, prefetch(1));
    expect(built.steps.map((s) => s.op)).toEqual(['normalizeResize', 'operator', 'batch', 'cutmix', 'prefetch']);
    expect(built.describe()).toContain('cutmix({"alpha":1,"seed":2}) -> prefetch({"count":1})');
    const n = 8;
    const images = new Float32Array(n * 4 * 4 * 3).map((_, i) => (i % 5) / 5);
    const source = fromArrays({ images, labels: Int32Array.from({ length: n }, (_, i) => i % 2), shape: [n, 4, 4, 3], numClasses: 2 });
    const batches: Batch[] = await lastValueFrom(source.pipe(built.operator, toArray()));
    expect(batches.map((b) => b.shape[0])).toEqual([4, 4]);
    const one: Batch[] = await lastValueFrom(source.pipe(buildArm(piped, 2, options).operator, toArray()));
    expect(one.map((b) => b.targets?.length)).toEqual([8, 8]);
  });
});

import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/core/types.js';
import { ArmRegistry, augmentedBatches, defaultArmRegistry, REFERENCE_ARMS, UnknownArmError } from '../../src/experiment/arms.js';
import { describeSteps, ops, Pipeline } from '../../src/experiment/pipeline.js';
import { fromArrays } from '../../src/sources/fromArrays.js';

const options = { size: 4, batchSize: 4, shuffleWindow: 8 };

describe('arms', () => {
  it('declares the reference arms as operator compositions, described step by step', () => {
    const registry = defaultArmRegistry();
    expect(registry.names()).toEqual(['baseline', 'augment', 'cutmix', 'mixup']);
    const opsOf = (name: string): string[] => registry.get(name).build(3, options).steps.map((s) => s.op);
    expect(opsOf('baseline')).toEqual(['normalizeResize', 'batch', 'oneHot']);
    expect(opsOf('augment')).toEqual(['normalizeResize', 'augment', 'shuffleWindow', 'batch', 'oneHot']);
    expect(opsOf('cutmix')).toEqual(['normalizeResize', 'augment', 'shuffleWindow', 'batch', 'cutmix']);
    expect(opsOf('mixup')).toEqual(['normalizeResize', 'augment', 'shuffleWindow', 'batch', 'mixup']);
    expect(registry.get('cutmix').build(3, options).describe()).toBe(
      'normalizeResize({"size":4}) -> augment({"flip":"horizontal","brightness":0.2,"seed":3}) -> shuffleWindow({"size":8,"seed":3}) -> batch({"size":4}) -> cutmix({"alpha":1,"seed":3})',
    );
    expect(registry.get('mixup').build(5, options).steps.at(-1)).toEqual({ op: 'mixup', options: { alpha: 0.2, seed: 5 } });
  });

  it('is a registry users extend without touching the default one', () => {
    const base = defaultArmRegistry();
    const mine = base.with({ name: 'cutmix-half', summary: 'alpha 0.5', build: (seed, o) => augmentedBatches(seed, o).then(ops.cutmix({ alpha: 0.5, seed })) });
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
    const source = (): ReturnType<typeof fromArrays> => fromArrays({ images, labels, shape: [n, 4, 4, 3], numClasses: 2 }, { shuffle: false });
    for (const arm of REFERENCE_ARMS) {
      const batches: Batch[] = await lastValueFrom(source().pipe(arm.build(1, options).operator, toArray()));
      expect(batches.map((b) => b.shape[0])).toEqual([4, 4]);
      const t = batches.flatMap((b) => [...(b.targets ?? [])]);
      expect(t).toHaveLength(n * 2);
      const soft = t.some((v) => v > 0 && v < 1);
      expect(soft, arm.name).toBe(arm.name === 'cutmix' || arm.name === 'mixup');
    }
  });

  it('describes custom steps and drops functions from options', () => {
    const p = Pipeline.of<number>().then({ op: 'double', options: {}, operator: (s) => s });
    expect(p.describe()).toBe('double({})');
    const nr = ops.normalizeResize({ size: 8, onSkip: () => undefined });
    expect(nr.options).toEqual({ size: 8 });
    expect(describeSteps([nr])).toBe('normalizeResize({"size":8})');
  });
});

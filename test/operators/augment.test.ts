import { from } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { flipHorizontal, flipVertical } from '../../src/core/image.js';
import type { ImageSample } from '../../src/core/types.js';
import { augment, type AugmentOptions } from '../../src/operators/augment.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const H = 3;
const W = 4;
const C = 2;

/** An asymmetric ramp in (0, 1), so every flip is visible. */
function sample(index: number, epoch = 0): ImageSample {
  const image = Float32Array.from({ length: H * W * C }, (_, i) => (i + 1 + index) / 64);
  return { image, height: H, width: W, channels: C, label: 0, numClasses: 2, epoch, index, origin: `s${index}` };
}

function run(options: AugmentOptions, samples: ImageSample[]): ImageSample[] {
  const out: ImageSample[] = [];
  from(samples)
    .pipe(augment(options))
    .subscribe((s) => out.push(s));
  return out;
}

const hflip = (x: Float32Array): Float32Array => flipHorizontal(x, new Float32Array(x.length), H, W, C);
const vflip = (x: Float32Array): Float32Array => flipVertical(x, new Float32Array(x.length), H, W, C);

describe('augment', () => {
  it('is deterministic per (seed, epoch, index), independent of arrival order', () => {
    const opts = { flip: 'both', brightness: 0.3, seed: 11 } as const;
    const samples = Array.from({ length: 16 }, (_, i) => sample(i));
    const forward = run(opts, samples);
    const backward = run(opts, [...samples].reverse());
    const byIndex = new Map(backward.map((s) => [s.index, s]));
    for (const s of forward) expect(byIndex.get(s.index)).toEqual(s);
    // other epoch or other seed: different draws
    const otherEpoch = run(
      opts,
      samples.map((s) => ({ ...s, epoch: 1 })),
    );
    expect(otherEpoch.map((s) => s.image)).not.toEqual(forward.map((s) => s.image));
    expect(run({ ...opts, seed: 12 }, samples).map((s) => s.image)).not.toEqual(forward.map((s) => s.image));
  });

  it('never changes its input and always emits a new image', () => {
    const samples = Array.from({ length: 8 }, (_, i) => sample(i));
    const copies = samples.map((s) => Float32Array.from(s.image));
    for (const opts of [{}, { flip: 'both', brightness: 0.5 }, { flip: 'horizontal' }, { flip: 'vertical' }] as AugmentOptions[]) {
      const out = run(opts, samples);
      out.forEach((s, i) => {
        expect(s.image).not.toBe(samples[i]?.image);
        // the same sample, stamped with the next random operator's place (core/seeds.ts)
        expect({ ...s, image: null }).toEqual({ ...samples[i], image: null, stream: 1 });
      });
    }
    samples.forEach((s, i) => expect(s.image).toEqual(copies[i]));
    // the defaults do nothing to the pixels
    run({}, samples).forEach((s, i) => expect(s.image).toEqual(samples[i]?.image));
  });

  it('flip really mirrors: each output is the input or its mirror, and both happen', () => {
    const samples = Array.from({ length: 40 }, (_, i) => sample(i));
    for (const [flip, mirror] of [
      ['horizontal', hflip],
      ['vertical', vflip],
    ] as const) {
      let flipped = 0;
      run({ flip, seed: 3 }, samples).forEach((s, i) => {
        const x = samples[i]?.image as Float32Array;
        const same = s.image.every((v, k) => v === x[k]);
        const mirrored = s.image.every((v, k) => v === mirror(x)[k]);
        expect(same || mirrored).toBe(true);
        if (mirrored) flipped++;
      });
      expect(flipped).toBeGreaterThan(5);
      expect(flipped).toBeLessThan(35);
    }
    const kinds = new Set<string>();
    run({ flip: 'both', seed: 3 }, samples).forEach((s, i) => {
      const x = samples[i]?.image as Float32Array;
      const candidates = { id: x, h: hflip(x), v: vflip(x), hv: vflip(hflip(x)) };
      const kind = Object.entries(candidates).find(([, c]) => c.every((v, k) => v === s.image[k]))?.[0];
      expect(kind).toBeDefined();
      kinds.add(kind as string);
    });
    expect([...kinds].sort()).toEqual(['h', 'hv', 'id', 'v']);
  });

  it('brightness adds one delta in [-d, d] to every pixel of an image', () => {
    const d = 0.2;
    const samples = Array.from({ length: 40 }, (_, i) => sample(i));
    const deltas = run({ brightness: d, seed: 5 }, samples).map((s, i) => {
      const x = samples[i]?.image as Float32Array;
      const delta = (s.image[0] as number) - (x[0] as number);
      s.image.forEach((v, k) => expect(Math.abs(v - (x[k] as number) - delta)).toBeLessThan(1e-6));
      expect(Math.abs(delta)).toBeLessThanOrEqual(d + 1e-6);
      return delta;
    });
    expect(Math.min(...deltas)).toBeLessThan(0);
    expect(Math.max(...deltas)).toBeGreaterThan(0);
    expect(new Set(deltas).size).toBeGreaterThan(30);
  });

  it('clip keeps values in [0, 1]; without it brightness may leave [0, 1]', () => {
    const samples = Array.from({ length: 20 }, (_, i) => sample(i));
    for (const s of run({ brightness: 0.9, clip: true, seed: 1 }, samples)) for (const v of s.image) expect(v >= 0 && v <= 1).toBe(true);
    const unclipped = run({ brightness: 0.9, seed: 1 }, samples).flatMap((s) => [...s.image]);
    expect(unclipped.some((v) => v < 0 || v > 1)).toBe(true);
  });

  it('marbles: one sample per sample; source errors propagate; empty completes; early unsubscribe', () => {
    const a = sample(0);
    const b = sample(1);
    const placed = { a: { ...a, stream: 1 }, b: { ...b, stream: 1 } };
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const s1 = cold('-a-b-|', { a, b });
      expectObservable(s1.pipe(augment())).toBe('-a-b-|', placed);
      expectSubscriptions(s1.subscriptions).toBe('^----!');
      const err = new Error('decode');
      const s2 = cold('-a-#', { a }, err);
      expectObservable(s2.pipe(augment())).toBe('-a-#', placed, err);
      expectSubscriptions(s2.subscriptions).toBe('^--!');
      expectObservable(cold<ImageSample>('|').pipe(augment({ flip: 'both' }))).toBe('|');
      const s3 = cold('abababab|', { a, b });
      expectObservable(s3.pipe(augment()), '^--!').toBe('aba', placed);
      expectSubscriptions(s3.subscriptions).toBe('^--!');
    });
  });

  it('a firehose into take(3) stops pulling the source', () => {
    const { values, pulled } = firehoseIntoTake3(augment({ flip: 'both', brightness: 0.1 }), (i): ImageSample => sample(i));
    expect([values.length, pulled]).toEqual([3, 3]);
  });

  it('validates options at creation: RangeErrors naming the option', () => {
    expect(() => augment({ brightness: -1 })).toThrow(RangeError);
    expect(() => augment({ brightness: -1 })).toThrow(/brightness/);
    expect(() => augment({ brightness: Number.NaN })).toThrow(/brightness/);
    expect(() => augment({ flip: 'diagonal' as unknown as 'none' })).toThrow(/flip/);
    expect(() => augment({ seed: Number.NaN })).toThrow(/seed/);
  });
});

describe('augment on byte images', () => {
  it('keeps bytes, carries the brightness as a delta, and gives exactly the float32 path values', async () => {
    const { lastValueFrom, from, toArray } = await import('rxjs');
    const { valuesOf } = await import('../../src/core/image.js');
    const bytes = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const sample = (image: Float32Array | Uint8Array, index: number) => ({
      image,
      height: 4,
      width: 3,
      channels: 3,
      label: 0,
      numClasses: 1,
      origin: 'x',
      epoch: 0,
      index,
    });
    for (const clip of [false, true]) {
      const op = () => augment({ flip: 'both', brightness: 0.4, clip, seed: 3 });
      const asBytes = await lastValueFrom(from([0, 1, 2, 3].map((i) => sample(bytes, i))).pipe(op(), toArray()));
      const asFloat = await lastValueFrom(from([0, 1, 2, 3].map((i) => sample(valuesOf(sample(bytes, i)), i))).pipe(op(), toArray()));
      for (const [i, s] of asBytes.entries()) {
        expect(s.image).toBeInstanceOf(Uint8Array);
        expect(Array.from(valuesOf(s))).toEqual(Array.from(asFloat[i]!.image));
      }
    }
  });
});

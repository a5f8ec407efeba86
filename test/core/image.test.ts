import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addBrightness,
  flipHorizontal,
  flipVertical,
  resizeBilinear,
  resizeBytes,
  toRgb,
  transformImage,
  valuesOf,
} from '../../src/core/image.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const imageArb = fc
  .tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 4 }))
  .chain(([h, w, c]) =>
    fc.tuple(fc.constant(h), fc.constant(w), fc.constant(c), fc.float32Array({ minLength: h * w * c, maxLength: h * w * c, noNaN: true })),
  );

describe('flips', () => {
  it('flipHorizontal mirrors a hand-computed 2x3 image', () => {
    const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect([...flipHorizontal(src, new Float32Array(6), 2, 3, 1)]).toEqual([3, 2, 1, 6, 5, 4]);
    // two channels: pixels move, channel order within a pixel is kept
    const rgb = Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60]);
    expect([...flipHorizontal(rgb, new Float32Array(12), 2, 3, 2)]).toEqual([3, 30, 2, 20, 1, 10, 6, 60, 5, 50, 4, 40]);
    expect([...src]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('flipVertical mirrors a hand-computed 2x3 image', () => {
    const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect([...flipVertical(src, new Float32Array(6), 2, 3, 1)]).toEqual([4, 5, 6, 1, 2, 3]);
    const three = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect([...flipVertical(three, new Float32Array(6), 3, 1, 2)]).toEqual([5, 6, 3, 4, 1, 2]);
  });

  it('each flip applied twice is the identity and returns dst', () => {
    fc.assert(
      fc.property(imageArb, ([h, w, c, img]) => {
        const a = new Float32Array(img.length);
        expect(flipHorizontal(img, a, h, w, c)).toBe(a);
        expect(flipHorizontal(a, new Float32Array(img.length), h, w, c)).toEqual(img);
        const b = new Float32Array(img.length);
        expect(flipVertical(img, b, h, w, c)).toBe(b);
        expect(flipVertical(b, new Float32Array(img.length), h, w, c)).toEqual(img);
      }),
    );
  });

  it('flipHorizontal agrees with tf.image.flipLeftRight', () => {
    fc.assert(
      fc.property(imageArb, ([h, w, c, img]) => {
        const expected = tf.tidy(() => tf.image.flipLeftRight(tf.tensor4d(img, [1, h, w, c])).dataSync());
        expect(flipHorizontal(img, new Float32Array(img.length), h, w, c)).toEqual(Float32Array.from(expected));
      }),
      { numRuns: 30 },
    );
  });
});

describe('addBrightness', () => {
  it('adds delta in place without clipping', () => {
    const data = Float32Array.from([0, 0.5, 0.9]);
    expect(addBrightness(data, 0.25, false)).toBe(data);
    expect([...data]).toEqual([0.25, 0.75, Math.fround(Math.fround(0.9) + 0.25)]);
    expect(data[2]).toBeGreaterThan(1);
    const neg = Float32Array.from([0.1, 1]);
    addBrightness(neg, -0.5, false);
    expect(neg[0]).toBeLessThan(0);
  });

  it('clips to [0, 1] with clip', () => {
    const data = Float32Array.from([0, 0.5, 0.9]);
    addBrightness(data, 0.25, true);
    expect([...data]).toEqual([0.25, 0.75, 1]);
    const neg = Float32Array.from([0.1, 0.75, 1]);
    addBrightness(neg, -0.5, true);
    expect([...neg]).toEqual([0, 0.25, 0.5]);
  });
});

describe('resizeBilinear', () => {
  it('same size is the identity, as a copy', () => {
    const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const out = resizeBilinear(src, 1, 2, 3, 1, 2);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
  });

  it('2x2 -> 4x4 matches hand-computed half-pixel values (= tf.image.resizeBilinear, halfPixelCenters)', () => {
    const src = Float32Array.from([0, 1, 2, 3]);
    // centres at -0.25, 0.25, 0.75, 1.25 (clamped to 0 .. 1): weights 0, 0.25, 0.75, 1
    const row = [0, 0.25, 0.75, 1];
    const expected = row.flatMap((wy) => row.map((wx) => wx + 2 * wy));
    const out = resizeBilinear(src, 2, 2, 1, 4, 4);
    expect(Array.from(out, (v) => Number(v.toFixed(6)))).toEqual(expected);
    const tfOut = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(src, [1, 2, 2, 1]), [4, 4], false, true).dataSync());
    expect(Array.from(tfOut)).toEqual(expected);
  });

  it('agrees with tf.image.resizeBilinear (halfPixelCenters) on random sizes', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), ([h, w, c, raw], oh, ow) => {
        const img = raw.map((v) => (Number.isFinite(v) ? Math.max(-1e3, Math.min(1e3, v)) : 0));
        const expected = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(img, [1, h, w, c]), [oh, ow], false, true).dataSync());
        const out = resizeBilinear(img, h, w, c, oh, ow);
        expect(out.length).toBe(oh * ow * c);
        out.forEach((v, i) => expect(Math.abs(v - (expected[i] as number))).toBeLessThan(1e-3));
      }),
      { numRuns: 60 },
    );
  });

  it('a constant image stays constant at any size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (h, w, oh, ow, v) => {
          const out = resizeBilinear(new Float32Array(h * w * 2).fill(v), h, w, 2, oh, ow);
          const f = Math.fround(v);
          for (const x of out) expect(Math.abs(x - f)).toBeLessThan(1e-6);
        },
      ),
    );
  });
});

describe('toRgb', () => {
  it('repeats grayscale', () => {
    expect([...toRgb(Float32Array.from([0.1, 0.5]), 2, 1)]).toEqual([0.1, 0.1, 0.1, 0.5, 0.5, 0.5].map(Math.fround));
  });

  it('drops the alpha of gray+alpha and of RGBA', () => {
    expect([...toRgb(Float32Array.from([0.2, 1, 0.4, 0]), 2, 2)]).toEqual([0.2, 0.2, 0.2, 0.4, 0.4, 0.4].map(Math.fround));
    expect([...toRgb(Float32Array.from([1, 2, 3, 9, 4, 5, 6, 9]), 2, 4)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('returns three channels as they are and rejects other counts', () => {
    const rgb = Float32Array.from([1, 2, 3]);
    expect(toRgb(rgb, 1, 3)).toBe(rgb);
    expect(() => toRgb(new Float32Array(5), 1, 5)).toThrow(/5 channels/);
    expect(() => toRgb(new Float32Array(0), 1, 0)).toThrow(RangeError);
  });
});

describe('valuesOf', () => {
  it('scales bytes to [0, 1], adds the delta, clips when asked, and gives float32 images as they are', () => {
    const image = Uint8Array.from([0, 51, 255]);
    expect([...valuesOf({ image })]).toEqual([0, Math.fround(0.2), 1]);
    expect([...valuesOf({ image, delta: 0.1 })]).toEqual([Math.fround(0.1), Math.fround(0.2 + 0.1), Math.fround(1.1)]);
    expect([...valuesOf({ image, delta: -0.5, clip: true })]).toEqual([0, 0, Math.fround(0.5)]);
    const floats = Float32Array.from([0.25, -1]);
    expect(valuesOf({ image: floats })).toBe(floats);
  });

  it('applies pending flips as the values are written: the same as flipping the values after', () => {
    // 2 x 3 x 2: value at (y, x, c) = 60y + 20x + c.
    const bytes = Uint8Array.from({ length: 12 }, (_, i) => 60 * Math.floor(i / 6) + 20 * Math.floor((i % 6) / 2) + (i % 2));
    const shape = { height: 2, width: 3, channels: 2 };
    for (const [flipH, flipV] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const plain = valuesOf({ image: bytes, delta: 0.1 });
      const expected = transformImage(plain, new Float32Array(12), 2, 3, 2, { flipH, flipV });
      expect([...valuesOf({ image: bytes, delta: 0.1, flipH, flipV, ...shape })]).toEqual([...expected]);
      const floats = Float32Array.from(plain);
      expect([...valuesOf({ image: floats, flipH, flipV, ...shape })]).toEqual([...expected]);
    }
    expect([...valuesOf({ image: bytes, flipH: true, ...shape }).subarray(0, 2)]).toEqual([40 / 255, 41 / 255].map(Math.fround));
    expect(() => valuesOf({ image: bytes, flipH: true })).toThrow(/needs its height, width and channels/);
  });
});

describe('resizeBytes', () => {
  it('equals the direct bilinear formula rounded to 8 bits, at any sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 11 }),
        fc.integer({ min: 1, max: 11 }),
        fc.integer(),
        (h, w, c, oh, ow, seed) => {
          const src = Uint8Array.from({ length: h * w * c }, (_, i) => (Math.imul(i + 1, 2654435761 ^ seed) >>> 24) & 255);
          const out = resizeBytes(src, h, w, c, oh, ow);
          const tap = (o: number, n: number, on: number) => {
            const f = Math.min(Math.max((o + 0.5) * (n / on) - 0.5, 0), n - 1);
            const lo = Math.floor(f);
            return [lo, Math.min(lo + 1, n - 1), Math.fround(f - lo)] as const;
          };
          for (let y = 0; y < oh; y++) {
            const [y0, y1, wy] = tap(y, h, oh);
            for (let x = 0; x < ow; x++) {
              const [x0, x1, wx] = tap(x, w, ow);
              for (let k = 0; k < c; k++) {
                const at = (yy: number, xx: number) => src[(yy * w + xx) * c + k] as number;
                const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * wx;
                const v = top + (at(y1, x0) + (at(y1, x1) - at(y1, x0)) * wx - top) * wy;
                const expected = oh === h && ow === w ? at(y, x) : Math.round(v);
                expect(out[(y * ow + x) * c + k]).toBe(expected);
              }
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CAFFE_MEAN_BGR, IMAGENET_MEAN, IMAGENET_STD, preprocessValues } from '../../src/core/preprocess.js';

const pixels = fc
  .array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 60 })
  .map((a) => Float32Array.from(a.slice(0, a.length - (a.length % 3))));

describe('preprocessValues', () => {
  it("'tf' maps [0, 1] onto [-1, 1] linearly, any channel count", () => {
    expect(Array.from(preprocessValues(Float32Array.of(0, 0.5, 1, 0.25), 4, 'tf'))).toEqual([-1, 0, 1, -0.5]);
    fc.assert(
      fc.property(pixels, (x) => preprocessValues(x, 3, 'tf').every((v, i) => v >= -1 && v <= 1 && Math.abs(v - (2 * x[i]! - 1)) < 1e-6)),
    );
  });

  it("'caffe' is Keras's: RGB to BGR, times 255, minus the BGR means", () => {
    const [b, g, r] = preprocessValues(Float32Array.of(1, 0.5, 0), 3, 'caffe');
    expect(b).toBeCloseTo(0 - CAFFE_MEAN_BGR[0], 4);
    expect(g).toBeCloseTo(127.5 - CAFFE_MEAN_BGR[1], 4);
    expect(r).toBeCloseTo(255 - CAFFE_MEAN_BGR[2], 4);
    // Undone (add the means back, /255, swap back), it gives the input.
    fc.assert(
      fc.property(pixels, (x) => {
        const y = preprocessValues(x, 3, 'caffe');
        for (let i = 0; i < x.length; i += 3)
          for (let c = 0; c < 3; c++) if (Math.abs((y[i + 2 - c]! + CAFFE_MEAN_BGR[2 - c]!) / 255 - x[i + c]!) > 1e-5) return false;
        return true;
      }),
    );
  });

  it("'torch' standardises each RGB channel with ImageNet's mean and std", () => {
    const mean = Float32Array.from(IMAGENET_MEAN);
    for (const v of preprocessValues(mean, 3, 'torch')) expect(Math.abs(v)).toBeLessThan(1e-6);
    fc.assert(
      fc.property(pixels, (x) =>
        preprocessValues(x, 3, 'torch').every((v, i) => Math.abs(v * IMAGENET_STD[i % 3]! + IMAGENET_MEAN[i % 3]! - x[i]!) < 1e-5),
      ),
    );
  });

  it('writes into out, which may be the input itself; refuses a channel count the mode cannot take', () => {
    const x = Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6);
    const copy = preprocessValues(x, 3, 'caffe');
    expect(preprocessValues(x, 3, 'caffe', x)).toBe(x);
    expect(Array.from(x)).toEqual(Array.from(copy));
    expect(() => preprocessValues(new Float32Array(4), 1, 'caffe')).toThrow(/3 channels/);
    expect(() => preprocessValues(new Float32Array(4), 1, 'tf', new Float32Array(3))).toThrow(/out has 3/);
  });
});

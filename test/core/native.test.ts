import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resizeBytes, writeValues } from '../../src/core/image.js';
import { crc32c } from '../../src/core/crc32c.js';
import { blendInto, cutmixBatch, oneHotLabels } from '../../src/core/mix.js';
import { rng } from '../../src/core/random.js';
import { accelerator, nativeStatus } from '../../src/core/native.js';

/** `f` run with the addon switched off: the JavaScript reference. */
function javascript<T>(f: () => T): T {
  const addon = accelerator.addon;
  accelerator.addon = undefined;
  try {
    return f();
  } finally {
    accelerator.addon = addon;
  }
}

/** Counts the addon's calls, so that a test comparing the two paths knows the native one ran. */
const calls: Record<string, number> = {};
function counting(): void {
  const addon = accelerator.addon;
  if (!addon) return;
  accelerator.addon = Object.fromEntries(
    Object.entries(addon).map(([name, fn]) => [
      name,
      (...args: unknown[]) => ((calls[name] = (calls[name] ?? 0) + 1), (fn as (...a: unknown[]) => unknown)(...args)),
    ]),
  ) as unknown as typeof addon;
}
counting();

const bytes = (n: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (Math.imul(i + 1, 2654435761 ^ seed) >>> 24) & 255);
const same = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// Without the addon (no compiler at install, or MIXSTREAM_NATIVE=0) the JavaScript runs and these
// comparisons have nothing to compare; CI sets MIXSTREAM_REQUIRE_NATIVE=1 so a broken build fails.
describe.skipIf(!accelerator.addon && process.env.MIXSTREAM_REQUIRE_NATIVE !== '1')('native addon (native/mixstream.c)', () => {
  it('was built at npm install and loads', () => {
    expect(nativeStatus.kind, nativeStatus.why).toBe('native');
  });

  it('resizes to exactly the JavaScript’s bytes, down and up, at any sizes and channel counts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer(),
        (h, w, c, oh, ow, seed) => {
          const src = bytes(h * w * c, seed);
          expect(
            same(
              resizeBytes(src, h, w, c, oh, ow),
              javascript(() => resizeBytes(src, h, w, c, oh, ow)),
            ),
          ).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    const photo = bytes(375 * 500 * 3, 7);
    expect(
      same(
        resizeBytes(photo, 375, 500, 3, 224, 224),
        javascript(() => resizeBytes(photo, 375, 500, 3, 224, 224)),
      ),
    ).toBe(true);
    expect(calls.resize).toBeGreaterThan(250);
  });

  it('writes byte images as float32 through the brightness table exactly as the JavaScript, flipped or not, at an offset', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4 })),
        fc.double({ min: -0.5, max: 0.5, noNaN: true }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 9 }),
        fc.integer(),
        ([height, width, channels], delta, clip, flipH, flipV, offset, seed) => {
          const n = height * width * channels;
          const sample = { image: bytes(n, seed), delta, clip, flipH, flipV, height, width, channels };
          const fast = new Float32Array(n + 10).fill(-7);
          const slow = new Float32Array(n + 10).fill(-7);
          writeValues(sample, fast, offset);
          javascript(() => writeValues(sample, slow, offset));
          expect(same(fast, slow)).toBe(true);
        },
      ),
    );
    expect(calls.lookup).toBeGreaterThan(50);
  });

  it('blends (Mixup) exactly as the JavaScript’s float32 arithmetic, in place too', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (n, lambda, seed) => {
        const a = Float32Array.from(bytes(2 * n, seed), (v, i) => v / 255 + (i % 7) * 1e-3);
        const fast = new Float32Array(2 * n);
        const slow = new Float32Array(2 * n);
        blendInto(fast, a, a, 0, n, n, lambda);
        javascript(() => blendInto(slow, a, a, 0, n, n, lambda));
        expect(same(fast, slow)).toBe(true);
        const inPlace = a.slice();
        blendInto(inPlace, inPlace, a, 0, n, n, lambda);
        expect(same(inPlace.subarray(0, n), fast.subarray(0, n))).toBe(true);
      }),
    );
    expect(calls.blend).toBeGreaterThan(50);
  });

  it('gives CutMix batches exactly as the JavaScript, per batch and per sample', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        fc.integer(),
        (b, h, w, c, perSample, seed) => {
          const images = Float32Array.from(bytes(b * h * w * c, seed), (v) => v / 255);
          const targets = oneHotLabels(
            Int32Array.from({ length: b }, (_, i) => i % 3),
            3,
          );
          const run = () =>
            cutmixBatch(images, targets, [b, h, w, c], 3, { alpha: 1, prob: 1, perSample, correctLambda: true }, rng(seed, 'cutmix'));
          const fast = run();
          const slow = javascript(run);
          expect(same(fast.images, slow.images)).toBe(true);
          expect(same(fast.targets, slow.targets)).toBe(true);
        },
      ),
    );
    expect(calls.paste).toBeGreaterThan(50);
  });

  it.skipIf(!accelerator.addon?.crc32c)(
    'computes CRC-32C as the JavaScript does, on any range, continuing a checksum (SSE 4.2 CPUs)',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (bytes, a, b, crc) => {
          const [start, end] = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y) as [number, number];
          expect(crc32c(bytes, start, end, crc)).toBe(javascript(() => crc32c(bytes, start, end, crc)));
        }),
        { numRuns: 300 },
      );
      expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
      expect(calls.crc32c).toBeGreaterThan(250);
    },
  );

  it('names what is wrong when the buffers do not match the sizes', () => {
    const addon = accelerator.addon;
    if (!addon) throw new Error(nativeStatus.why);
    expect(() => addon.resize(new Uint8Array(10), 4, 4, 3, 2, 2, new Uint8Array(12))).toThrow(/resize sizes do not match/);
    expect(() => addon.lookup(new Uint8Array(10), new Float32Array(255), new Float32Array(10), 0, 1, 10, 1, 0, 0)).toThrow(
      /256-entry table/,
    );
    expect(() => addon.lookup(new Uint8Array(10), new Float32Array(256), new Float32Array(10), 0, 2, 2, 3, 1, 0)).toThrow(
      /the image's shape/,
    );
    expect(() => addon.paste(new Uint8Array(12), new Uint8Array(12), new Uint8Array(12), 2, 2, 3, 0, 3, 0, 1)).toThrow(
      /paste sizes or box/,
    );
    expect(() => addon.blend(new Float32Array(2), new Float32Array(3), new Float32Array(2), 0.5)).toThrow(/one length/);
    if (addon.crc32c) expect(() => addon.crc32c?.(new Uint8Array(4), 2, 5, 0)).toThrow(/start <= end <= length/);
    expect(() =>
      addon.lookup(new Uint8Array(1), new Uint8Array(256) as unknown as Float32Array, new Float32Array(1), 0, 1, 1, 1, 0, 0),
    ).toThrow(/expected a Float32Array/);
  });
});

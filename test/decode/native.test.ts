import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resizeBytes } from '../../src/core/image.js';
import { resizeImage, resizer } from '../../src/decode/native.js';

describe('native resize (native/mixstream.c)', () => {
  it('is built by npm install here (g++ and Node headers are on every machine of this project)', () => {
    expect(resizer.kind, resizer.why).toBe('native');
  });

  it('gives exactly resizeBytes’ bytes, down and up, at any sizes and channel counts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (h, w, c, oh, ow, seed) => {
        const src = Uint8Array.from({ length: h * w * c }, (_, i) => (Math.imul(i + 1, 2654435761 ^ seed) >>> 24) & 255);
        expect(Buffer.from(resizeImage(src, h, w, c, oh, ow)).equals(Buffer.from(resizeBytes(src, h, w, c, oh, ow)))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same bytes on a photo-sized image (500x375 to 224x224)', () => {
    const src = Uint8Array.from({ length: 375 * 500 * 3 }, (_, i) => (i * 31 + (i >> 9)) & 255);
    expect(Buffer.from(resizeImage(src, 375, 500, 3, 224, 224)).equals(Buffer.from(resizeBytes(src, 375, 500, 3, 224, 224)))).toBe(true);
  });
});

/**
 * Counter-based randomness: every random stream is keyed by (seed, ...keys), for example
 * (seed, 'cutmix', epoch, batchIndex). Nothing depends on arrival order or on the clock, so the
 * same seed gives the same numbers whatever the decode concurrency or timing.
 */

/** A key part: integers as two 32-bit words, other numbers by their float64 bits, strings by their UTF-16 code units. */
export type Key = number | string;

function mix32(h: number, k: number): number {
  // MurmurHash3's per-word step and finaliser constants: cheap and well-avalanched.
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of the keys; `salt` picks one of several independent hashes of the same keys. */
export function hashKeys(keys: readonly Key[], salt = 0): number {
  let h = salt ^ 0x9e3779b9;
  let n = 0;
  for (const key of keys) {
    if (typeof key === 'number') {
      if (!Number.isFinite(key)) throw new RangeError(`random key must be finite, got ${key}`);
      if (Number.isInteger(key)) {
        h = mix32(h, key >>> 0);
        h = mix32(h, Math.floor(key / 4294967296) >>> 0);
      } else {
        // A fractional key (seed 0.5) is its own stream: hash the float64's two words.
        const words = new Uint32Array(new Float64Array([key]).buffer);
        h = mix32(h, (words[0] as number) ^ 0x7ff00000);
        h = mix32(h, words[1] as number);
      }
      n += 2;
    } else {
      h = mix32(h, 0x5bd1e995 ^ key.length);
      for (let i = 0; i < key.length; i++) h = mix32(h, key.charCodeAt(i));
      n += key.length + 1;
    }
  }
  return fmix32(h ^ n);
}

/** A seeded generator (sfc32 underneath), with the draws the augmentations need. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  constructor(keys: readonly Key[]) {
    this.a = hashKeys(keys, 1);
    this.b = hashKeys(keys, 2);
    this.c = hashKeys(keys, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** Uniform integer in [0, 2^32). */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform float in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.uint32();
    while (x >= limit) x = this.uint32();
    return x % n;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    const u = 1 - this.next(); // (0, 1]: log is finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang (2000), with the u^(1/shape) boost for shape < 1. */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(1 - this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    const s = x + y;
    return s > 0 ? x / s : this.next() < a / (a + b) ? 1 : 0;
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i] as T;
      items[i] = items[j] as T;
      items[j] = t;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i] as number;
      p[i] = p[j] as number;
      p[j] = t;
    }
    return p;
  }
}

/** The generator for one stream: `rng(seed, 'augment', epoch, index)`. */
export function rng(...keys: Key[]): Rng {
  return new Rng(keys);
}

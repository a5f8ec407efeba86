/**
 * Pure batch maths: one-hot labels, label smoothing, CutMix (Yun et al. 2019) and Mixup (Zhang et
 * al. 2018) on contiguous [B, H, W, C] float32 batches and [B, K] label distributions.
 */
import { uninitializedFloats } from './image.js';
import { accelerator } from './native.js';
import type { Rng } from './random.js';

/** [B] class indices -> [B, K] one-hot. Throws naming the first label outside [0, K). */
export function oneHotLabels(labels: Int32Array, numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  labels.forEach((label, i) => {
    if (!(label >= 0 && label < numClasses)) throw new RangeError(`oneHot: label ${label} of sample ${i} is outside [0, ${numClasses})`);
    out[i * numClasses + label] = 1;
  });
  return out;
}

/** Label smoothing: t * (1 - eps) + eps / K, into a new array. Rows that summed to 1 still do. */
export function smoothLabels(targets: Float32Array, numClasses: number, epsilon: number): Float32Array {
  const out = new Float32Array(targets.length);
  const floor = epsilon / numClasses;
  for (let i = 0; i < targets.length; i++) out[i] = (targets[i] as number) * (1 - epsilon) + floor;
  return out;
}

/** A box of rows [y0, y1) and columns [x0, x1); empty when y0 == y1 or x0 == x1. */
export interface Box {
  readonly y0: number;
  readonly y1: number;
  readonly x0: number;
  readonly x1: number;
}

export const boxArea = (b: Box): number => (b.y1 - b.y0) * (b.x1 - b.x0);

/**
 * CutMix's box for a sampled lambda, as the paper's code draws it: half-sides floor(floor(H * sqrt(1 -
 * lambda)) / 2) and the same for W around a centre uniform over the image, clipped to the image.
 */
export function cutmixBox(lambda: number, height: number, width: number, rng: Rng): Box {
  const ratio = Math.sqrt(1 - lambda);
  const cutH = Math.floor(height * ratio);
  const cutW = Math.floor(width * ratio);
  const cy = rng.int(height);
  const cx = rng.int(width);
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  return {
    y0: clip(cy - Math.floor(cutH / 2), height),
    y1: clip(cy + Math.floor(cutH / 2), height),
    x0: clip(cx - Math.floor(cutW / 2), width),
    x1: clip(cx + Math.floor(cutW / 2), width),
  };
}

/** Copies box `box` of image `from` of `src` into image `to` of `dst` (both [B, H, W, C]). */
export function pasteBox(
  dst: Float32Array,
  src: Float32Array,
  to: number,
  from: number,
  box: Box,
  height: number,
  width: number,
  channels: number,
): void {
  const image = height * width * channels;
  const span = (box.x1 - box.x0) * channels;
  if (span <= 0) return;
  for (let y = box.y0; y < box.y1; y++) {
    const offset = (y * width + box.x0) * channels;
    dst.set(src.subarray(from * image + offset, from * image + offset + span), to * image + offset);
  }
}

/**
 * Writes lambda * a + (1 - lambda) * b over one image's range into `dst`, in float32 arithmetic
 * (each product and the sum rounded to float32, lambda too), as the native addon computes it.
 */
export function blendInto(
  dst: Float32Array,
  a: Float32Array,
  b: Float32Array,
  aStart: number,
  bStart: number,
  length: number,
  lambda: number,
): void {
  // Views from 0 keep the loop free of offset arithmetic: it runs near memory speed.
  const d = dst.subarray(aStart, aStart + length);
  const x = a.subarray(aStart, aStart + length);
  const y = b.subarray(bStart, bStart + length);
  if (accelerator.addon) return accelerator.addon.blend(x, y, d, lambda);
  const l = Math.fround(lambda);
  const m = Math.fround(1 - lambda);
  // A float32 product is exact in a double and the sum's double rounding is harmless: Math.fround
  // of each is float32 arithmetic, bit for bit.
  for (let i = 0; i < length; i++) d[i] = Math.fround(l * (x[i] as number)) + Math.fround(m * (y[i] as number));
}

/** targets'[i] = w[i] * t[i] + (1 - w[i]) * t[perm[i]], row by row, into a new array. */
export function mixTargets(targets: Float32Array, numClasses: number, perm: Int32Array, weights: Float64Array): Float32Array {
  const out = new Float32Array(targets.length);
  for (let i = 0; i < perm.length; i++) {
    const j = perm[i] as number;
    const w = weights[i] as number;
    for (let k = 0; k < numClasses; k++)
      out[i * numClasses + k] = w * (targets[i * numClasses + k] as number) + (1 - w) * (targets[j * numClasses + k] as number);
  }
  return out;
}

export interface MixOptions {
  /** Beta(alpha, alpha) concentration, > 0. */
  readonly alpha: number;
  /** Probability that a batch (or, per sample, a sample) is mixed at all. */
  readonly prob: number;
  /** One lambda (and, for cutmix, one box) per batch, or one per sample. */
  readonly perSample: boolean;
  /** Mix into `images` itself (nothing else may hold them) instead of new arrays. Default false. */
  readonly inPlace?: boolean;
}

/** Writes image `i` of `src` into `dst` with `box` taken from image `j` of `src`: one CutMix sample. */
function cutmixImage(
  dst: Float32Array,
  src: Float32Array,
  i: number,
  j: number,
  box: Box,
  height: number,
  width: number,
  channels: number,
): void {
  const per = height * width * channels;
  const addon = accelerator.addon;
  if (addon) {
    const view = (a: Float32Array, k: number): Uint8Array => new Uint8Array(a.buffer, a.byteOffset + k * per * 4, per * 4);
    addon.paste(view(src, i), view(src, j), view(dst, i), height, width, channels * 4, box.y0, box.y1, box.x0, box.x1);
    return;
  }
  dst.set(src.subarray(i * per, (i + 1) * per), i * per);
  pasteBox(dst, src, i, j, box, height, width, channels);
}

/** What a mixing step did, per sample: the partner and the weight of the sample's own label. */
export interface MixResult {
  readonly images: Float32Array;
  readonly targets: Float32Array;
  readonly partner: Int32Array;
  readonly weight: Float64Array;
  /** CutMix only: the box pasted from the partner into each sample. */
  readonly boxes?: readonly Box[];
}

function lambdas(n: number, opts: MixOptions, rng: Rng): Float64Array {
  const out = new Float64Array(n).fill(1);
  if (opts.perSample) {
    for (let i = 0; i < n; i++) if (rng.next() < opts.prob) out[i] = rng.beta(opts.alpha, opts.alpha);
  } else if (rng.next() < opts.prob) {
    out.fill(rng.beta(opts.alpha, opts.alpha));
  }
  return out;
}

/** A scratch image for in-place mixing (mixing is synchronous, so one serves every call). */
let scratch = new Float32Array(0);

/**
 * Calls `step(i, src, from)` for every sample i with its partner's image as image `from` of `src`,
 * the partner's original pixels even when `images` is overwritten in place as it goes: samples are
 * visited along the permutation's cycles (each step overwrites the image the previous one read),
 * and each cycle's first image is kept in a scratch copy for the cycle's last step.
 */
function alongCycles(
  images: Float32Array,
  per: number,
  partner: Int32Array,
  step: (i: number, src: Float32Array, from: number) => void,
): void {
  const done = new Uint8Array(partner.length);
  for (let start = 0; start < partner.length; start++) {
    if (done[start]) continue;
    if (partner[start] === start) {
      done[start] = 1;
      step(start, images, start);
      continue;
    }
    if (scratch.length !== per) scratch = new Float32Array(per);
    scratch.set(images.subarray(start * per, (start + 1) * per));
    for (let i = start; !done[i]; i = partner[i] as number) {
      done[i] = 1;
      const j = partner[i] as number;
      if (j === start) step(i, scratch, 0);
      else step(i, images, j);
    }
  }
}

/**
 * CutMix on a batch: partners from a random permutation, lambda ~ Beta(alpha, alpha), a box of
 * area about (1 - lambda) pasted from the partner. With `correctLambda` (timm's correct_lam, on by
 * default) a sample's own label weight is recomputed from the clipped box: 1 - area / (H * W), which
 * is exactly the fraction of its pixels that are its own. Returns new arrays and leaves the inputs
 * untouched, unless `inPlace`: then only the boxes are written, into `images`, the same result.
 */
export function cutmixBatch(
  images: Float32Array,
  targets: Float32Array,
  shape: readonly [number, number, number, number],
  numClasses: number,
  opts: MixOptions & { readonly correctLambda: boolean },
  rng: Rng,
): MixResult {
  const [n, height, width, channels] = shape;
  const partner = rng.permutation(n);
  const lam = lambdas(n, opts, rng);
  const weight = new Float64Array(n);
  const boxes: Box[] = [];
  const shared = opts.perSample ? undefined : lam[0] === 1 ? undefined : cutmixBox(lam[0] as number, height, width, rng);
  for (let i = 0; i < n; i++) {
    const l = lam[i] as number;
    const box = opts.perSample ? (l === 1 ? undefined : cutmixBox(l, height, width, rng)) : shared;
    const b = box ?? { y0: 0, y1: 0, x0: 0, x1: 0 };
    boxes.push(b);
    const self = partner[i] === i;
    weight[i] = box === undefined || self ? 1 : opts.correctLambda ? 1 - boxArea(b) / (height * width) : l;
  }
  let out = images;
  if (opts.inPlace) {
    alongCycles(images, height * width * channels, partner, (i, src, from) =>
      pasteBox(images, src, i, from, boxes[i] as Box, height, width, channels),
    );
  } else {
    out = uninitializedFloats(images.length); // every image is written below
    for (let i = 0; i < n; i++) cutmixImage(out, images, i, partner[i] as number, boxes[i] as Box, height, width, channels);
  }
  return { images: out, targets: mixTargets(targets, numClasses, partner, weight), partner, weight, boxes };
}

/**
 * Mixup on a batch: partners from a random permutation, lambda ~ Beta(alpha, alpha), pixels and
 * labels blended with the same lambda. Returns new arrays and leaves the inputs untouched, unless
 * `inPlace`: then the blend is written into `images`, the same result.
 */
export function mixupBatch(
  images: Float32Array,
  targets: Float32Array,
  shape: readonly [number, number, number, number],
  numClasses: number,
  opts: MixOptions,
  rng: Rng,
): MixResult {
  const [n, height, width, channels] = shape;
  const per = height * width * channels;
  const partner = rng.permutation(n);
  const weight = lambdas(n, opts, rng);
  let out = images;
  if (opts.inPlace) {
    alongCycles(images, per, partner, (i, src, from) => {
      if (weight[i] !== 1) blendInto(images, images, src, i * per, from * per, per, weight[i] as number);
    });
  } else {
    out = uninitializedFloats(images.length); // every image is written below
    for (let i = 0; i < n; i++) {
      const w = weight[i] as number;
      if (w === 1) out.set(images.subarray(i * per, (i + 1) * per), i * per);
      else blendInto(out, images, images, i * per, (partner[i] as number) * per, per, w);
    }
  }
  return { images: out, targets: mixTargets(targets, numClasses, partner, weight), partner, weight };
}

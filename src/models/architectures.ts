/**
 * The standard backbones' shapes as tables, with no tfjs: the builders (mobilenetV2.ts,
 * resnet50.ts) walk them to make layers, and backboneFootprint walks them to count parameters and
 * activations, so the CLI can check a 224-pixel run's memory before it loads tfjs.
 */

/**
 * Keras's _make_divisible: `v` rounded to the nearest multiple of `divisor` (at least `divisor`),
 * rounded up a step where rounding lost more than 10%. Filter counts depend on it exactly, so the
 * weight shapes of every alpha match Keras's files.
 */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/** The alphas Keras publishes MobileNetV2 imagenet weights for. */
export const MOBILENET_V2_ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4] as const;

/** MobileNetV2's inverted residual blocks 0..16: [filters, stride, expansion] (the paper's table 2, as Keras builds it). */
export const MOBILENET_V2_BLOCKS: ReadonlyArray<readonly [filters: number, stride: number, expansion: number]> = [
  [16, 1, 1],
  [24, 2, 6],
  [24, 1, 6],
  [32, 2, 6],
  [32, 1, 6],
  [32, 1, 6],
  [64, 2, 6],
  [64, 1, 6],
  [64, 1, 6],
  [64, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [96, 1, 6],
  [160, 2, 6],
  [160, 1, 6],
  [160, 1, 6],
  [320, 1, 6],
];

/** Filters of MobileNetV2's stem conv (Conv1) for `alpha`. */
export const mobilenetV2StemFilters = (alpha: number): number => makeDivisible(32 * alpha, 8);
/** Output filters of a block (its 1x1 projection) for `alpha`: Keras truncates filters * alpha, then rounds to 8. */
export const mobilenetV2BlockFilters = (filters: number, alpha: number): number => makeDivisible(Math.trunc(filters * alpha), 8);
/** Filters of the last conv (Conv_1): alpha widens it but never narrows it, as in the paper and Keras. */
export const mobilenetV2LastFilters = (alpha: number): number => (alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280);

/** ResNet-50's stages: [Keras's stage name, bottleneck filters, blocks, stride of the first block]. */
export const RESNET50_STAGES: ReadonlyArray<readonly [name: string, filters: number, blocks: number, stride: number]> = [
  ['conv2', 64, 3, 1],
  ['conv3', 128, 4, 2],
  ['conv4', 256, 6, 2],
  ['conv5', 512, 3, 2],
];

const half = (s: number): number => Math.ceil(s / 2);

/**
 * Parameters (all weights, batch-norm statistics included, as Keras's count_params) and
 * activations per image (floats of every layer's output, which training keeps for the backward
 * pass) of a backbone with the mixstream head for `classes` classes.
 */
export function backboneFootprint(
  model: 'mobilenet-v2' | 'resnet50',
  size: number,
  alpha = 1.0,
  channels = 3,
  classes = 1000,
): { params: number; activations: number } {
  let params = 0;
  let acts = 0;
  let s = size;
  let c = channels;
  if (model === 'mobilenet-v2') {
    s = half(s);
    c = mobilenetV2StemFilters(alpha);
    params += 9 * channels * c + 4 * c;
    acts += 3 * s * s * c;
    MOBILENET_V2_BLOCKS.forEach(([filters, stride, expansion], id) => {
      const out = mobilenetV2BlockFilters(filters, alpha);
      const mid = id > 0 ? expansion * c : c;
      if (id > 0) {
        params += c * mid + 4 * mid;
        acts += 3 * s * s * mid;
      }
      s = stride === 2 ? half(s) : s;
      params += 9 * mid + 4 * mid + mid * out + 4 * out;
      acts += s * s * (3 * mid + 2 * out + (c === out && stride === 1 ? out : 0));
      c = out;
    });
    const last = mobilenetV2LastFilters(alpha);
    params += c * last + 4 * last;
    acts += 3 * s * s * last;
    c = last;
  } else {
    s = half(s);
    params += 49 * channels * 64 + 64 + 4 * 64;
    acts += 3 * s * s * 64;
    s = half(s);
    acts += s * s * 64;
    c = 64;
    for (const [, filters, blocks, stride] of RESNET50_STAGES)
      for (let b = 1; b <= blocks; b++) {
        const first = b === 1;
        const st = first ? stride : 1;
        const out = 4 * filters;
        s = st === 2 ? half(s) : s;
        if (first) {
          params += c * out + out + 4 * out;
          acts += 2 * s * s * out;
        }
        params += c * filters + filters + 4 * filters + 9 * filters * filters + filters + 4 * filters + filters * out + out + 4 * out;
        acts += s * s * (6 * filters + 4 * out);
        c = out;
      }
  }
  return { params: params + c * classes + classes, activations: acts + c + classes };
}

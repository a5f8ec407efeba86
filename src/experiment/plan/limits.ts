/**
 * The limits that keep one ablation's memory bounded by design, checked before anything is built:
 * the decoders' pixel limit, and the training step's size (model weights, optimizer state and
 * activations) estimated from the model's options, the image side and the batch size.
 */
import type { ModelName } from '../../models/index.js';
import { backboneFootprint } from '../../models/architectures.js';
import { DEFAULT_MAX_PIXELS } from '../../core/limits.js';
import { InputError } from '../errors.js';

export { DEFAULT_MAX_PIXELS } from '../../core/limits.js';

/**
 * Largest estimated training-step memory an ablation accepts: 8 GiB. Sized for the machines this
 * runs on (24 GB, 2 cores): the step plus decode buffers and batches in flight stay well under.
 */
export const TRAINING_MEMORY_BUDGET = 8 * 2 ** 30;

type Check = (v: unknown) => string | undefined;
const int =
  (lo: number, hi: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi
      ? undefined
      : `must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`;
const num =
  (lo: number, hi: number): Check =>
  (v) =>
    typeof v === 'number' && v > lo && v <= hi ? undefined : `must be a number in (${lo}, ${hi}], got ${JSON.stringify(v)}`;
const ints =
  (length: number | undefined, lo: number, hi: number): Check =>
  (v) =>
    Array.isArray(v) &&
    (length === undefined ? v.length >= 1 && v.length <= 8 : v.length === length) &&
    v.every((x) => int(lo, hi)(x) === undefined)
      ? undefined
      : `must be a list of ${length ?? '1 to 8'} integers in [${lo}, ${hi}], got ${JSON.stringify(v)}`;

/** The options each zoo model takes from `--model-options`, with their checks (the rest the ablation sets itself). */
const MODEL_OPTION_CHECKS: Readonly<Record<ModelName, Readonly<Record<string, Check>>>> = {
  'simple-cnn': { filters: ints(2, 1, 1024), hidden: int(1, 65536) },
  resnet: { blocksPerStage: int(1, 64), widths: ints(undefined, 1, 2048) },
  mobilenet: { alpha: num(0, 8), depthMultiplier: int(1, 16) },
  'mobilenet-v2': { alpha: num(0, 8) },
  resnet50: {},
};

/** Throws an InputError naming the first unknown key or bad value of `options` for `model`. */
export function checkModelOptions(model: ModelName, options: Readonly<Record<string, unknown>>): void {
  const checks = MODEL_OPTION_CHECKS[model];
  for (const [key, value] of Object.entries(options)) {
    const check = checks[key];
    if (!check) throw new InputError(`model option '${key}' is not one ${model} takes (it takes: ${Object.keys(checks).join(', ')})`);
    const bad = check(value);
    if (bad) throw new InputError(`model option '${key}' of ${model} ${bad}`);
  }
}

const same = (s: number, stride: number): number => Math.ceil(s / stride);

/**
 * The model's weights and its activations per image (floats), counted layer by layer as the zoo
 * builds them (src/models): what a training step holds besides its input batch.
 */
export function modelFootprint(
  model: ModelName,
  options: Readonly<Record<string, unknown>>,
  size: number,
  channels = 3,
  classes = 1000,
): { params: number; activations: number } {
  if (model === 'simple-cnn') {
    const [f1, f2] = (options.filters as [number, number] | undefined) ?? [32, 64];
    const hidden = (options.hidden as number | undefined) ?? 128;
    const s1 = same(size, 2);
    const s2 = same(s1, 2);
    const params = 9 * channels * f1 + f1 + 9 * f1 * f2 + f2 + s2 * s2 * f2 * hidden + hidden + hidden * classes + classes;
    return { params, activations: size * size * f1 + s1 * s1 * f1 + s1 * s1 * f2 + s2 * s2 * f2 + hidden + classes };
  }
  if (model === 'mobilenet-v2' || model === 'resnet50')
    return backboneFootprint(model, size, (options.alpha as number | undefined) ?? 1.0, channels, classes);
  if (model === 'resnet') {
    const blocks = (options.blocksPerStage as number | undefined) ?? 1;
    const widths = (options.widths as number[] | undefined) ?? [16, 32, 64];
    let inC = widths[0] ?? 16;
    let params = 9 * channels * inC + 4 * inC;
    let activations = 3 * size * size * inC; // stem: conv, batch norm, relu
    let s = size;
    widths.forEach((w, stage) => {
      for (let b = 0; b < blocks; b++) {
        if (stage > 0 && b === 0) s = same(s, 2);
        const shortcut = inC !== w || (stage > 0 && b === 0);
        params += 9 * inC * w + 9 * w * w + 8 * w + (shortcut ? inC * w + 4 * w : 0);
        activations += s * s * w * (7 + (shortcut ? 2 : 0)); // two conv-bn(-relu), add, relu (+ the projected shortcut)
        inC = w;
      }
    });
    return { params: params + inC * classes + classes, activations: activations + inC + classes };
  }
  const alpha = (options.alpha as number | undefined) ?? 0.5;
  const m = (options.depthMultiplier as number | undefined) ?? 1;
  const width = (f: number): number => Math.max(8, Math.round(f * alpha));
  let s = same(size, 2);
  let inC = width(32);
  let params = 9 * channels * inC + 4 * inC;
  let activations = 3 * s * s * inC;
  for (const [f, stride] of [
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
    [256, 1],
  ] as const) {
    s = same(s, stride);
    const w = width(f);
    const last = f === 256 && stride === 1; // one separableConv2d: no batch norm between depthwise and pointwise
    params += 9 * inC * m + (last ? 0 : 4 * inC * m) + inC * m * w + 4 * w;
    activations += 3 * s * s * (inC * m + w); // depthwise and pointwise, each with batch norm and relu6
    inC = w;
  }
  return { params: params + inC * classes + classes, activations: activations + inC + classes };
}

/**
 * Estimated bytes of one training step: float32 weights, their gradients and Adam's two moments
 * (4 x params), the activations kept for the backward pass and their gradients (about 3 x per
 * image, times the batch), and the input batch twice (the pipeline's batch and the tensor).
 */
export function trainingBytes(
  model: ModelName,
  options: Readonly<Record<string, unknown>>,
  size: number,
  batchSize: number,
  channels = 3,
): number {
  const { params, activations } = modelFootprint(model, options, size, channels);
  return 4 * (4 * params + 3 * batchSize * activations + 2 * batchSize * size * size * channels);
}

/**
 * Checks image side, batch size and model options together before anything is built: throws an
 * InputError naming the values and the limit when the step would not fit `budget` bytes, or an
 * image side's pixels exceed `maxPixels`.
 */
export function checkTrainingShape(
  o: { model: ModelName; modelOptions: Readonly<Record<string, unknown>>; size: number; batchSize: number; maxPixels?: number },
  budget = TRAINING_MEMORY_BUDGET,
): void {
  checkModelOptions(o.model, o.modelOptions);
  const maxPixels = o.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (o.size * o.size > maxPixels)
    throw new InputError(`--size ${o.size} makes ${o.size * o.size} pixels an image, over the pixel limit ${maxPixels} (--max-pixels)`);
  const bytes = trainingBytes(o.model, o.modelOptions, o.size, o.batchSize);
  if (bytes > budget)
    throw new InputError(
      `${o.model} at --size ${o.size} with --batch ${o.batchSize}${Object.keys(o.modelOptions).length > 0 ? ` (model options ${JSON.stringify(o.modelOptions)})` : ''} needs about ${gib(bytes)} to train, over the ${gib(budget)} budget: use a smaller size, batch or model`,
    );
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GiB`;

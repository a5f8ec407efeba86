/**
 * Pipelines that can say what they are: each step is an operator plus its name and options, so a
 * results file records exactly what an arm fed the model, and two arms can be compared as text.
 */
import type { OperatorFunction } from 'rxjs';
import {
  augment,
  batch,
  cutmix,
  labelSmoothing,
  mixup,
  normalizeResize,
  oneHot,
  prefetch,
  shuffleWindow,
  type AugmentOptions,
  type BatchOptions,
  type CutmixOptions,
  type MixingOptions,
  type NormalizeResizeOptions,
  type ShuffleWindowOptions,
} from '../operators/index.js';
import type { Batch, EncodedSample, ImageSample } from '../core/types.js';

/** One step as recorded: the operator's name and the options it was called with (JSON-safe). */
export interface StepDescription {
  readonly op: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** A step: the description and the operator itself. */
export interface Step<I, O> extends StepDescription {
  readonly operator: OperatorFunction<I, O>;
}

/** Wraps any operator as a described step: `step('myOp', { k: 1 }, myOp({ k: 1 }))`. */
export function step<I, O>(op: string, options: Readonly<Record<string, unknown>>, operator: OperatorFunction<I, O>): Step<I, O> {
  return { op, options: jsonSafe(options), operator };
}

/** Drops functions and undefined so the description is plain JSON. */
function jsonSafe(options: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined && typeof v !== 'function') out[k] = v;
  return out;
}

/** A composition of described steps; `operator` is the whole thing as one OperatorFunction. */
export class Pipeline<I, O> {
  private constructor(
    readonly steps: readonly StepDescription[],
    readonly operator: OperatorFunction<I, O>,
  ) {}

  /** The empty pipeline over T. */
  static of<T>(): Pipeline<T, T> {
    return new Pipeline<T, T>([], (source) => source);
  }

  /** Appends a step. */
  then<R>(next: Step<O, R>): Pipeline<I, R> {
    const before = this.operator;
    return new Pipeline<I, R>([...this.steps, { op: next.op, options: next.options }], (source) => next.operator(before(source)));
  }

  /** One line: `normalizeResize({"size":32}) -> batch({"size":32}) -> oneHot({})`. */
  describe(): string {
    return describeSteps(this.steps);
  }
}

/** The one-line form of a list of steps. */
export function describeSteps(steps: readonly StepDescription[]): string {
  return steps.map((s) => `${s.op}(${JSON.stringify(s.options)})`).join(' -> ');
}

/** What every arm's pipeline starts from: encoded files, or images already decoded (CIFAR, MNIST). */
export type SourceSample = EncodedSample | ImageSample;

/** The library's operators as described steps, so arms read like the plain pipe they stand for. */
export const ops = {
  normalizeResize: (o: NormalizeResizeOptions): Step<SourceSample, ImageSample> => step('normalizeResize', { ...o }, normalizeResize(o)),
  augment: (o: AugmentOptions): Step<ImageSample, ImageSample> => step('augment', { ...o }, augment(o)),
  shuffleWindow: (size: number, o: ShuffleWindowOptions = {}): Step<ImageSample, ImageSample> => step('shuffleWindow', { size, ...o }, shuffleWindow<ImageSample>(size, o)),
  batch: (size: number, o: BatchOptions = {}): Step<ImageSample, Batch> => step('batch', { size, ...o }, batch(size, o)),
  oneHot: (numClasses?: number): Step<Batch, Batch> => step('oneHot', numClasses === undefined ? {} : { numClasses }, oneHot(numClasses)),
  cutmix: (o: CutmixOptions): Step<Batch, Batch> => step('cutmix', { ...o }, cutmix(o)),
  mixup: (o: MixingOptions): Step<Batch, Batch> => step('mixup', { ...o }, mixup(o)),
  labelSmoothing: (epsilon: number): Step<Batch, Batch> => step('labelSmoothing', { epsilon }, labelSmoothing(epsilon)),
  prefetch: <T>(count: number): Step<T, T> => step('prefetch', { count }, prefetch<T>(count)),
};

import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import { creditOf } from '../flow/credit.js';
import { oneHotLabels, type MixResult } from '../core/mix.js';
import { check, type Batch } from '../core/types.js';
import { ownsItsBatches } from './batch.js';
import { expectKind } from '../core/kinds.js';
import { nextStream } from '../core/seeds.js';

/** Options shared by cutmix and mixup. */
export interface MixingOptions {
  /** Beta(alpha, alpha) concentration of lambda, > 0. */
  readonly alpha?: number;
  /** Probability of mixing a batch (or a sample, with perSample), in [0, 1]. Default 1. */
  readonly prob?: number;
  /** One lambda per sample instead of one per batch (timm's 'elem' mode). Default false. */
  readonly perSample?: boolean;
  /**
   * Seed; the draws of batch b in epoch e are keyed by (seed, e, b). Default: the pipeline's seed
   * and the operator's place in the chain (core/seeds.ts).
   */
  readonly seed?: number;
}

export interface MixingSettings {
  readonly alpha: number;
  readonly prob: number;
  readonly perSample: boolean;
  readonly seed: number | undefined;
}

export function mixingOptions(where: string, options: MixingOptions, defaultAlpha: number): MixingSettings {
  const { alpha = defaultAlpha, prob = 1, perSample = false, seed } = options;
  check(Number.isFinite(alpha) && alpha > 0, where, 'alpha', `must be > 0, got ${alpha}`);
  check(prob >= 0 && prob <= 1, where, 'prob', `must be in [0, 1], got ${prob}`);
  check(seed === undefined || Number.isFinite(seed), where, 'seed', `must be a finite number, got ${seed}`);
  return { alpha, prob, perSample, seed };
}

/**
 * A mixing step as an operator: `mix(batch, targets, inPlace)` per batch (targets: the batch's
 * soft targets, else its one-hot labels). After `batch`, with only mixstream's batch operators
 * between, nobody else holds the batch, so it is mixed in place; elsewhere into a new one.
 */
export function mixingOperator(
  where: string,
  mix: (b: Batch, targets: Float32Array, inPlace: boolean, sinkSeed: number | undefined) => MixResult,
): OperatorFunction<Batch, Batch> {
  return (source) => {
    const inPlace = ownsItsBatches.has(source);
    // The sink's seed is read as the chain subscribes (flow/credit.ts), for sources without one.
    const mixed$: Observable<Batch> = defer(() => {
      const sinkSeed = creditOf()?.seed;
      return source.pipe(
        map((b) => {
          expectKind(where, 'batch', b);
          const mixed = mix(b, b.targets ?? oneHotLabels(b.labels, b.numClasses), inPlace, sinkSeed);
          return { ...b, images: mixed.images, targets: mixed.targets, stream: nextStream(b) };
        }),
      );
    });
    ownsItsBatches.add(mixed$);
    return mixed$;
  };
}

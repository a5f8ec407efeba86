import { check } from '../core/types.js';

/** Options shared by cutmix and mixup. */
export interface MixingOptions {
  /** Beta(alpha, alpha) concentration of lambda, > 0. */
  readonly alpha?: number;
  /** Probability of mixing a batch (or a sample, with perSample), in [0, 1]. Default 1. */
  readonly prob?: number;
  /** One lambda per sample instead of one per batch (timm's 'elem' mode). Default false. */
  readonly perSample?: boolean;
  /** Seed; the draws of batch b in epoch e are keyed by (seed, e, b). Default 0. */
  readonly seed?: number;
}

export function mixingOptions(where: string, options: MixingOptions, defaultAlpha: number): Required<MixingOptions> {
  const { alpha = defaultAlpha, prob = 1, perSample = false, seed = 0 } = options;
  check(Number.isFinite(alpha) && alpha > 0, where, 'alpha', `must be > 0, got ${alpha}`);
  check(prob >= 0 && prob <= 1, where, 'prob', `must be in [0, 1], got ${prob}`);
  check(Number.isFinite(seed), where, 'seed', `must be a finite number, got ${seed}`);
  return { alpha, prob, perSample, seed };
}

/**
 * The plan of an ablation: one run per (arm, seed), arms in config order, each seed in turn; a
 * shard's share of it; and how many processes train it (jobsForPlan). Pure: no files, no processes.
 */
import { InputError } from '../errors.js';

/** A deterministic share of the plan: runs i with i % count === index. */
export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

/** One planned run and its key (plan/identity.ts: runKey). */
export interface PlannedRun<A> {
  readonly arm: A;
  readonly seed: number;
  readonly key: string;
}

/** Every (arm, seed) run of a config, arms outer, with the key each is matched on. */
export function planRuns<A>(arms: readonly A[], seeds: readonly number[], keyOf: (arm: A, seed: number) => string): Array<PlannedRun<A>> {
  return arms.flatMap((arm) => seeds.map((seed) => ({ arm, seed, key: keyOf(arm, seed) })));
}

/**
 * Shard `index` of `count`'s share of the plan (arms x seeds, in config order): every count-th
 * run from `index`, so shares are disjoint, cover the plan, and mix arms (similar run times).
 */
export function shardShare<T>(plan: readonly T[], shard: Shard): T[] {
  return plan.filter((_, i) => i % shard.count === shard.index);
}

/** How many runs a shard's share of an arms x seeds plan holds (all of them with no shard). */
export function plannedRunCount(arms: number, seeds: number, shard?: Shard): number {
  const total = arms * seeds;
  if (!shard) return total;
  return Math.max(0, Math.ceil((total - shard.index) / shard.count));
}

/**
 * How many processes train a plan of `arms` x `seeds` runs (a shard's share of it) when `asked`
 * for: never more than the runs planned (--jobs 64 for 2 runs forked 63 workers), at least one.
 * The one owner of that rule: the CLI sizes its prestarted workers with it, runAblation its pool.
 */
export function jobsForPlan(
  asked: number,
  arms: number,
  seeds: number,
  shard?: Shard,
): { readonly jobs: number; readonly planned: number } {
  if (!Number.isSafeInteger(asked) || asked < 1) throw new InputError(`jobs must be a positive integer, got ${asked}`);
  const planned = plannedRunCount(arms, seeds, shard);
  return { jobs: Math.max(1, Math.min(asked, planned)), planned };
}

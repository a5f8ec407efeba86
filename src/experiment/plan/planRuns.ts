/**
 * The plan of an ablation: one run per (arm, seed), arms in config order, each seed in turn; and
 * a shard's share of it. Pure: no files, no processes.
 */

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

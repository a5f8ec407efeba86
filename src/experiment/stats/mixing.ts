/** Whether a mixing arm's operator really acted, from the counts train/mixstats.ts keeps per run. */
import type { MixingStats } from '../record.js';

/** Arms whose operator barely acted: mixed in fewer than 5% of batches although it mixes at all, or blended negligibly in most mixed batches. */
export function barelyActed(
  runs: ReadonlyArray<{ readonly arm: string; readonly mixing?: MixingStats }>,
): Array<{ arm: string; why: string }> {
  const byArm = new Map<string, MixingStats[]>();
  for (const r of runs) if (r.mixing) byArm.set(r.arm, [...(byArm.get(r.arm) ?? []), r.mixing]);
  const out: Array<{ arm: string; why: string }> = [];
  for (const [arm, list] of byArm) {
    const batches = list.reduce((a, s) => a + s.batches, 0);
    const mixed = list.reduce((a, s) => a + s.mixedBatches, 0);
    const barely = list.reduce((a, s) => a + s.barelyMixedBatches, 0);
    if (mixed === 0) continue; // an arm that never mixes is not a mixing arm
    if (mixed - barely < 0.5 * batches)
      out.push({
        arm,
        why: `${pct(barely / batches)} of batches had lambda above 0.99 (or below 0.01), ${pct((batches - mixed) / batches)} were not mixed at all`,
      });
  }
  return out;
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

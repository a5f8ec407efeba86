/**
 * "What the arms really did": per arm, the share of batches mixed and barely mixed, and a
 * histogram of max(lambda, 1 - lambda) as the batches carried it (see experiment/train/mixstats.ts),
 * summed over seeds. Plain HTML bars: no chart library needed for 20 numbers.
 */
import type { MixingStats, RunRecord } from '../experiment/record.js';
import { HISTOGRAM_BINS } from '../experiment/train/mixstats.js';
import { escapeHtml } from './escape.js';

/** Sums the runs' stats per arm, in `arms` order; arms without stats are left out. */
export function mixingByArm(runs: readonly RunRecord[], arms: readonly string[]): Array<{ arm: string; stats: MixingStats }> {
  const out: Array<{ arm: string; stats: MixingStats }> = [];
  for (const arm of arms) {
    const list = runs.filter((r) => r.arm === arm && r.mixing).map((r) => r.mixing as MixingStats);
    if (list.length === 0) continue;
    const histogram = Array.from({ length: HISTOGRAM_BINS }, (_, i) => list.reduce((a, s) => a + (s.histogram[i] ?? 0), 0));
    out.push({
      arm,
      stats: {
        batches: list.reduce((a, s) => a + s.batches, 0),
        mixedBatches: list.reduce((a, s) => a + s.mixedBatches, 0),
        barelyMixedBatches: list.reduce((a, s) => a + s.barelyMixedBatches, 0),
        histogram,
      },
    });
  }
  return out;
}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : 'n/a');

export function mixingHtml(runs: readonly RunRecord[], arms: readonly string[]): string {
  const rows = mixingByArm(runs, arms)
    .map(({ arm, stats: s }) => {
      const max = Math.max(1, ...s.histogram);
      const bars = s.histogram
        .map(
          (v, i) =>
            `<span title="${(0.5 + i / (2 * HISTOGRAM_BINS)).toFixed(3)}–${(0.5 + (i + 1) / (2 * HISTOGRAM_BINS)).toFixed(3)}: ${v}" style="display:inline-block;width:6px;margin-right:1px;background:#4c78a8;height:${Math.round((40 * v) / max)}px"></span>`,
        )
        .join('');
      return (
        `<tr data-arm="${escapeHtml(arm)}"><td>${escapeHtml(arm)}</td><td class="num">${s.batches}</td><td class="num mixed">${pct(s.mixedBatches / s.batches)}</td>` +
        `<td class="num barely">${pct(s.barelyMixedBatches / s.batches)}</td><td style="vertical-align:bottom;white-space:nowrap">${s.mixedBatches === 0 ? '—' : bars}</td></tr>`
      );
    })
    .join('');
  return (
    `<h2>What the arms really did</h2><table id="mixing"><thead><tr><th>arm</th><th>batches</th><th>mixed</th><th>barely mixed<br><small>λ &gt; 0.99 or &lt; 0.01</small></th>` +
    `<th>max(λ, 1 − λ) of the mixed batches<br><small>0.5 (even blend) … 1 (untouched)</small></th></tr></thead><tbody>${rows}</tbody></table>` +
    `<p><small>λ is read off the targets the model trained on: the smallest weight any sample's own label kept in its batch. Label smoothing shows as a constant λ.</small></p>`
  );
}

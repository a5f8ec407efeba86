/**
 * The comparison table, first thing in the report and in the terminal summary: for each arm
 * against the reference, on the headline metric, the mean paired difference with its 95% t
 * interval, the exact sign-flip p and its Holm correction, the verdict with its reason, and the
 * seeds needed. Same numbers as results.json's `comparisons` (the browser test checks it).
 */
import type { Comparison, ComparisonSet } from '../experiment/stats/compare.js';
import type { AblationWarning } from '../experiment/stats/warnings.js';
import { escapeHtml } from './escape.js';

/** A difference in the metric's units, for people: accuracies as signed points, losses as signed values. */
export function formatDiff(c: Pick<Comparison, 'metric'>, v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const accuracy = !c.metric.toLowerCase().includes('loss');
  const x = accuracy ? 100 * v : v;
  const s = accuracy ? x.toFixed(1) : x.toFixed(3);
  return `${x > 0 ? '+' : ''}${s}${accuracy ? ' pts' : ''}`;
}

export const formatP = (p: number): string => (!Number.isFinite(p) ? 'n/a' : p < 0.001 ? p.toExponential(1) : p.toFixed(3));

export const formatCi = (c: Comparison): string => (c.ci95 ? `[${formatDiff(c, c.ci95[0])}, ${formatDiff(c, c.ci95[1])}]` : 'n/a (1 seed)');

const seedsText = (c: Comparison): string =>
  `${c.seedsNeeded.tTest ?? 'n/a'} (t) / ${Math.max(c.seedsNeeded.signFlip, c.seedsNeeded.tTest ?? 0)} (sign-flip)`;

/** The headline metric's comparisons (the first metric), in arm order. */
export const headline = (set: ComparisonSet): Comparison[] => set.comparisons.filter((c) => c.metric === set.comparisons[0]?.metric);

/** The comparison section as HTML: headline table (id="comparison"), how to read it, and every metric in a second table. */
export function comparisonHtml(set: ComparisonSet, warnings: readonly AblationWarning[], descriptive = false): string {
  const head = headline(set);
  const metricLabel = head[0]?.label ?? '';
  const row = (c: Comparison, withMetric: boolean): string => {
    return (
      `<tr data-arm="${escapeHtml(c.arm)}" data-metric="${escapeHtml(c.metric)}">` +
      `<td class="arm">${escapeHtml(c.arm)}</td>` +
      (withMetric ? `<td>${escapeHtml(c.label)}</td>` : '') +
      `<td class="num n">${c.n}</td>` +
      `<td class="num diff" data-value="${c.mean}">${formatDiff(c, c.mean)}</td>` +
      `<td class="num ci" data-low="${c.ci95?.[0] ?? ''}" data-high="${c.ci95?.[1] ?? ''}">${formatCi(c)}</td>` +
      `<td class="num p" data-value="${c.p}">${formatP(c.p)}</td>` +
      `<td class="num p-holm" data-value="${c.pHolm}">${formatP(c.pHolm)}</td>` +
      `<td class="verdict verdict-${c.verdict}"><b>${c.verdict}</b><br><small>${escapeHtml(c.reason)}</small></td>` +
      (withMetric
        ? ''
        : `<td class="num detectable">${c.detectableEffect === null ? 'n/a' : formatDiff(c, c.detectableEffect).replace(/^\+/, '')}</td>` +
          `<td class="num seeds-needed" data-t="${c.seedsNeeded.tTest ?? ''}" data-sign-flip="${c.seedsNeeded.signFlip}">${seedsText(c)}</td>`) +
      `</tr>`
    );
  };
  const warn =
    warnings.length === 0
      ? ''
      : `<ul id="warnings" class="warn">${warnings.map((w) => `<li data-kind="${escapeHtml(w.kind)}">${escapeHtml(w.message)}</li>`).join('')}</ul>`;
  return (
    `<h2>${descriptive ? 'Descriptive: every arm against' : 'Compared with'} ${escapeHtml(set.baseline)} (paired by seed)</h2>${warn}` +
    (descriptive
      ? `<p><small>Descriptive only: the verdicts above, on the headline metric and the declared contrasts, are the answer; these per-metric tests (on stored accuracies, Holm across arms only) are shown for reading, not for deciding.</small></p>`
      : '') +
    `<table id="comparison"><thead><tr><th>arm</th><th>seeds</th><th>mean difference<br><small>${escapeHtml(metricLabel)}</small></th><th>95% t interval</th>` +
    `<th>sign-flip p</th><th>p, Holm</th><th>verdict</th><th>detectable at this n<br><small>80% power</small></th>` +
    `<th>seeds for ${set.effectPoints} pt<br><small>t / sign-flip</small></th></tr></thead>` +
    `<tbody>${head.map((c) => row(c, false)).join('')}</tbody></table>` +
    `<p><small>Each seed trains every arm from the same initial weights on the same split and source order, so the per-seed difference (arm − ${escapeHtml(set.baseline)}) is the arm's doing. ` +
    `Verdict: ${escapeHtml(set.decidedBy)}; alpha ${set.alpha}, Holm across the ${head.length} arm(s) compared. ` +
    `<b>Inconclusive</b> means these seeds cannot tell the arm from the reference: not that they are equal. The interval says how large a difference is still compatible with the runs. ` +
    `"Detectable" is the smallest difference a paired t test would find with 80% power at this number of seeds; "seeds for ${set.effectPoints} pt" is how many seeds that needs ` +
    `(the sign-flip test also needs 2/2<sup>n</sup> ≤ alpha/arms).</small></p>` +
    `<details><summary>Every metric</summary><table id="comparison-all"><thead><tr><th>arm</th><th>metric</th><th>seeds</th><th>mean difference</th><th>95% t interval</th><th>sign-flip p</th><th>p, Holm</th><th>verdict</th></tr></thead>` +
    `<tbody>${set.comparisons.map((c) => row(c, true)).join('')}</tbody></table></details>`
  );
}

/** The same, as terminal lines. */
export function comparisonText(set: ComparisonSet, warnings: readonly AblationWarning[]): string {
  const head = headline(set);
  if (head.length === 0) return '';
  const rows = [
    ['arm', 'seeds', 'mean diff', '95% t interval', 'p', 'p Holm', 'verdict', `seeds for ${set.effectPoints} pt (t / sign-flip)`],
  ];
  for (const c of head)
    rows.push([c.arm, String(c.n), formatDiff(c, c.mean), formatCi(c), formatP(c.p), formatP(c.pHolm), c.verdict, seedsText(c)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => `  ${r.map((x, i) => x.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
  const reasons = head.map((c) => `  ${c.arm}: ${c.verdict} — ${c.reason}`);
  return [
    `Compared with ${set.baseline}, paired by seed (${head[0]?.label}; verdict by ${set.decidedBy.split(':')[0]}):`,
    ...lines,
    ...reasons,
    ...warnings.map((w) => `warning: ${w.message}`),
    '',
  ].join('\n');
}

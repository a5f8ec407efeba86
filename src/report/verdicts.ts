/**
 * The first screen of the report and the first lines of the terminal summary: for each primary
 * contrast (an arm against its parent: cutmix against augment), in words, whether the arm helps
 * here, by how much (the mean difference in test-accuracy points with its interval from seeds and
 * test images) and how sure (the verdict, its p after Holm, and what would settle it); then the
 * whole declared family in a table. Same numbers as results.json's `headline` (stats/headline.ts).
 */
import type { HeadlineContrast, HeadlineSet } from '../experiment/stats/headline.js';
import { escapeHtml } from './escape.js';

const pts = (x: number): string => (Number.isFinite(x) ? `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x).toFixed(2)} pts` : 'n/a');
const range = (r: readonly [number, number] | null | undefined): string => (r ? `${pts(r[0])} to ${pts(r[1])}` : 'n/a');
const fmtP = (p: number): string => (!Number.isFinite(p) ? 'n/a' : p < 0.001 ? p.toExponential(1) : p.toFixed(3));

/** The interval the answer quotes: seeds x images when there are bits, else the exact one over seeds. */
function mainInterval(c: HeadlineContrast): { interval: readonly [number, number] | null; what: string } {
  if (c.crossed?.interval)
    return {
      interval: c.crossed.interval,
      what: `95% interval over seeds and test images; ${Math.round(100 * c.crossed.testImagesShare)}% of its variance is the test images' sampling`,
    };
  return { interval: c.exact.interval, what: '95% exact interval over seeds, on these test images only' };
}

/** "Does cutmix help here?" answered in one sentence for one contrast. */
export function answerSentence(set: HeadlineSet, c: HeadlineContrast): string {
  const { interval, what } = mainInterval(c);
  const n = c.seeds.length;
  const by = `${c.arm} − ${c.reference} = ${pts(c.meanPoints)} ${set.metric === 'test' ? 'test' : 'validation'} accuracy on ${c.images} images over ${n} seed${n === 1 ? '' : 's'} (${range(interval)}, ${what})`;
  const q = `Does ${c.arm} help here (against ${c.reference})?`;
  const plan = c.power?.seeds.estimate;
  const more =
    plan === null || plan === undefined
      ? ''
      : ` Detecting ${set.effectPoints} pt at Holm's alpha/${set.family} with 80% power needs about ${plan} seeds (${c.power?.seeds.low ?? '?'}–${c.power?.seeds.high ?? '?'} over the SD's range).`;
  switch (c.verdict) {
    case 'better':
      return `${q} Yes: ${by}. Sure at the family's 5% level (${c.reason}).`;
    case 'worse':
      return `${q} No, it hurts: ${by}. Sure at the family's 5% level (${c.reason}).`;
    case 'equivalent':
      return `${q} It makes no difference larger than ${set.effectPoints} pt: ${by}; equivalent within ${set.effectPoints} pt.`;
    default:
      return `${q} Not shown either way: ${by}. Inconclusive: ${c.reason}.${more}`;
  }
}

const row = (c: HeadlineContrast): string =>
  `<tr data-arm="${escapeHtml(c.arm)}" data-reference="${escapeHtml(c.reference)}" data-role="${c.role}">` +
  `<td class="arm">${escapeHtml(c.arm)} − ${escapeHtml(c.reference)}</td><td>${c.role}</td><td class="num n">${c.seeds.length}</td>` +
  `<td class="num diff" data-value="${c.meanPoints}">${pts(c.meanPoints)}</td>` +
  `<td class="num crossed">${c.crossed ? `${range(c.crossed.interval)}<br><small>test images ${Math.round(100 * c.crossed.testImagesShare)}% of it</small>` : 'n/a (no bits)'}</td>` +
  `<td class="num exact">${range(c.exact.interval)}</td>` +
  `<td class="num p" data-value="${c.p}">${fmtP(c.p)}<br><small>${escapeHtml(c.sequential.method)}</small></td>` +
  `<td class="num p-holm" data-value="${c.pHolm}">${fmtP(c.pHolm)}</td>` +
  `<td class="verdict verdict-${c.verdict}"><b>${c.verdict === 'equivalent' ? 'equivalent within D' : c.verdict}</b>${c.warning ? ' <b class="warn">(warning)</b>' : ''}<br><small>${escapeHtml(c.reason)}</small>${c.notes.map((x) => `<br><small class="note">${escapeHtml(x)}</small>`).join('')}</td>` +
  `<td class="num seeds-needed">${c.power?.seeds.estimate ?? 'n/a'}<br><small>${c.power ? `${c.power.seeds.low ?? '?'}–${c.power.seeds.high ?? '?'}` : ''}</small></td>` +
  `<td class="num detectable">${c.power?.detectable.estimate == null ? 'n/a' : pts(c.power.detectable.estimate).replace(/^\+/, '')}</td></tr>`;

/** The answer paragraphs (id="answer") and the family's table (id="verdicts"). */
export function verdictsHtml(set: HeadlineSet): string {
  const primary = set.contrasts.filter((c) => c.role === 'primary');
  return (
    `<section id="answer">${primary.map((c) => `<p class="answer verdict-${c.verdict}" data-arm="${escapeHtml(c.arm)}">${escapeHtml(answerSentence(set, c))}</p>`).join('')}</section>` +
    `<h2>Verdicts on ${escapeHtml(set.label)} (${set.images} test images, one image = ${(100 / Math.max(1, set.images)).toFixed(3)} pts)</h2>` +
    `<table id="verdicts"><thead><tr><th>contrast</th><th>role</th><th>seeds</th><th>mean difference</th><th>95% interval<br><small>seeds × test images</small></th>` +
    `<th>95% exact interval<br><small>seeds, these images</small></th><th>p<br><small>larger of the two tests</small></th><th>p, Holm</th><th>verdict</th>` +
    `<th>seeds for ${set.effectPoints} pt<br><small>at alpha/${set.family}, SD range</small></th><th>detectable now</th></tr></thead>` +
    `<tbody>${set.contrasts.map(row).join('')}</tbody></table>` +
    `<p><small>Family: ${escapeHtml(set.familySource)}, ${set.family} contrast(s), Holm at alpha ${set.alpha}. Verdict: ${escapeHtml(set.decidedBy)}. ` +
    `D = ${set.effectPoints} pt (--effect). Only this metric carries verdicts; the table below is descriptive.</small></p>`
  );
}

/** The same as terminal lines. */
export function verdictsText(set: HeadlineSet): string {
  const lines = [`Verdicts on ${set.label}, ${set.images} images (${set.family} contrast(s), Holm; D = ${set.effectPoints} pt):`];
  for (const c of set.contrasts.filter((x) => x.role === 'primary')) lines.push(`  ${answerSentence(set, c)}`);
  for (const c of set.contrasts) {
    lines.push(
      `  ${`${c.arm} − ${c.reference}`.padEnd(24)} ${c.role.padEnd(9)} ${pts(c.meanPoints).padStart(11)}  [${range(mainInterval(c).interval)}]  p ${fmtP(c.p)}, Holm ${fmtP(c.pHolm)}  ${c.verdict}${c.warning ? ' (warning)' : ''}`,
    );
    for (const note of c.notes) lines.push(`      note: ${note}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The self-contained HTML report: vega, vega-lite and vega-embed inlined (opens offline), a table
 * of final validation accuracy mean +/- std per arm, the charts, and each arm's sample grid as a
 * data: URI. Every name or path from the data is escaped; JSON in <script> cannot close the tag.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { ArmSummary, ResultsFile } from '../experiment/store/results.js';
import { printable } from '../experiment/errors.js';
import { pointsPerImage } from '../experiment/stats/warnings.js';
import { comparisonHtml } from './comparison.js';
import { verdictsHtml } from './verdicts.js';
import { mixingHtml } from './mixing.js';
import { escapeHtml, scriptJson, scriptSource } from './escape.js';
import type { ArmSample } from './samples.js';
import { describeAdapter } from '../backend/webgpu/adapter.js';

export interface ReportInput {
  readonly results: ResultsFile;
  readonly charts: ReadonlyArray<{ readonly id: string; readonly spec: TopLevelSpec; readonly png?: string }>;
  readonly samples: readonly ArmSample[];
  /** Inline library sources, in load order (vega, vega-lite, vega-embed). */
  readonly libraries: readonly string[];
  readonly generatedAt?: string;
}

const require = createRequire(import.meta.url);

/** The minified browser builds of vega, vega-lite and vega-embed, from node_modules. */
export async function vegaLibraries(): Promise<string[]> {
  // The packages' "exports" hide build/*.min.js; their entry points sit in that same build folder.
  const files: Array<[string, string]> = [
    ['vega', 'vega.min.js'],
    ['vega-lite', 'vega-lite.min.js'],
    ['vega-embed', 'vega-embed.min.js'],
  ];
  return Promise.all(files.map(([pkg, file]) => readFile(path.join(path.dirname(require.resolve(pkg)), file), 'utf8')));
}

/** 0.7234 -> '72.3%'. */
export const percent = (v: number, digits = 1): string => (Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : 'n/a');

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:12px;word-break:break-word}.meta td:first-child{font-weight:600;white-space:nowrap}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{min-height:300px;min-width:520px}
.grid img{image-rendering:pixelated;border:1px solid #ccc}figure{margin:12px 0 24px}
figcaption{margin:4px 0}.tiles{font-size:11px;color:#555;columns:4;max-width:1000px}
.best{font-weight:700}.warn{color:#a40}
`;

function summaryTable(summary: readonly ArmSummary[], arms: ResultsFile['arms'], runs: ResultsFile['runs']): string {
  // No bold winner: a highest mean is not a finding (the comparison table says what is).
  const best = Number.NaN;
  // Keras accuracy is argmax(prediction) == argmax(target): for a mixing arm that target is mixed, so its train accuracy is not comparable.
  const mixes = (arm: string): boolean => runs.some((r) => r.arm === arm && (r.mixing?.mixedBatches ?? 0) > 0);
  const rows = summary.map((s) => {
    const pipeline = arms.find((a) => a.name === s.arm)?.pipeline ?? '';
    const acc = s.finalValAccuracy;
    const test = s.testAccuracy;
    const diverged = s.diverged?.length
      ? ` <b class="warn">${s.diverged.length} diverged (${s.diverged.map((d) => `seed ${d.seed}, epoch ${d.epoch}`).join('; ')}): not in the means</b>`
      : '';
    return (
      `<tr data-arm="${escapeHtml(s.arm)}"><td class="arm">${escapeHtml(s.arm)}</td>` +
      `<td>${escapeHtml(s.summary)}<br><code>${escapeHtml(pipeline)}</code></td>` +
      `<td class="num">${s.seeds.length} (${escapeHtml(s.seeds.join(', '))})${diverged}</td>` +
      `<td class="num test-acc" data-mean="${test?.mean ?? ''}" data-std="${test?.std ?? ''}">${test ? `${percent(test.mean)} ± ${percent(test.std)}` : 'no test split'}</td>` +
      `<td class="num val-acc${acc.mean === best ? ' best' : ''}" data-mean="${acc.mean}" data-std="${acc.std}">${percent(acc.mean)} ± ${percent(acc.std)}</td>` +
      `<td class="num val-loss" data-mean="${s.finalValLoss.mean}" data-std="${s.finalValLoss.std}">${s.finalValLoss.mean.toFixed(3)} ± ${s.finalValLoss.std.toFixed(3)}</td>` +
      `<td class="num train-acc">${percent(s.finalAccuracy.mean)} ± ${percent(s.finalAccuracy.std)}${mixes(s.arm) ? ' *' : ''}</td></tr>`
    );
  });
  return (
    `<table id="summary"><thead><tr><th>arm</th><th>pipeline</th><th>seeds</th><th>test accuracy (headline)<br>mean ± std</th><th>final val accuracy<br>mean ± std</th>` +
    `<th>final val loss<br>mean ± std</th><th>final train accuracy<br>mean ± std<br><small>* against mixed targets</small></th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

/** The backbone's start and how it trained: weights file and SHA-256, freeze policy, input scaling. */
function backboneRow(c: Readonly<Record<string, unknown>>): [string, string] {
  const weights =
    c.weights === undefined
      ? 'random initial weights'
      : `weights ${escapeHtml(c.weightsSource === 'file' ? c.weightsFile : c.weightsSource)} (file <code>${escapeHtml(c.weightsFile)}</code>, SHA-256 <code>${escapeHtml(c.weightsSha256)}</code>)`;
  const f = c.fineTune as { freeze?: string; unfreezeAt?: number; backboneLrMult?: number } | undefined;
  const freeze =
    f === undefined || f.freeze !== 'backbone'
      ? 'backbone trains from the start'
      : `backbone frozen (batch norm in inference mode)${f.unfreezeAt === undefined ? '' : `, trains from epoch ${escapeHtml(f.unfreezeAt)}`}`;
  const mult = f?.backboneLrMult === undefined ? '' : `; backbone learning rate x${escapeHtml(f.backboneLrMult)}`;
  const pre = c.preprocess === undefined ? '' : `; input preprocessing '${escapeHtml(c.preprocess)}'`;
  return ['backbone', `${escapeHtml(c.model)}: ${weights}; ${freeze}${mult}${pre}`];
}

function metaTable(r: ResultsFile, generatedAt: string): string {
  const c = r.config;
  const classes = r.data.classes;
  const shown = classes.slice(0, 40).map(escapeHtml).join(', ') + (classes.length > 40 ? `, … (${classes.length - 40} more)` : '');
  const rows: Array<[string, string]> = [
    ['data', `${escapeHtml(r.data.location)}${c.builtinData ? ' (built-in generated data set)' : ''} — ${escapeHtml(r.data.kind)}`],
    ['classes', `${classes.length}: ${shown}`],
    [
      'images',
      `${r.data.trainCount} training, ${r.data.validationCount} validation (split ${escapeHtml(c.validationSplit)}); one validation image = ${pointsPerImage(r.data.validationCount).toFixed(2)} accuracy points${r.data.testCount ? `; ${r.data.testCount} test images (one = ${pointsPerImage(r.data.testCount).toFixed(2)} points), scored once per run after the last epoch` : '; no test split'}`,
    ],
    [
      'design',
      escapeHtml(
        r.design
          ? Object.entries(r.design)
              .map(([k, v]) => `${k}: ${v}`)
              .join('; ')
          : 'not recorded',
      ),
    ],
    [
      'backend',
      `${escapeHtml(r.backend.name)}${r.backend.adapter ? ` on ${escapeHtml(describeAdapter(r.backend.adapter))}` : ''} (${escapeHtml(r.backend.reason)})`,
    ],
    ['model', `${escapeHtml(c.model)} <code>${escapeHtml(JSON.stringify(c.modelOptions))}</code>`],
    ...(c.weights === undefined && c.fineTune === undefined && c.preprocess === undefined ? [] : [backboneRow(c)]),
    [
      'training',
      `${escapeHtml(c.epochs)} epochs, image size ${escapeHtml(c.size)}, batch ${escapeHtml(c.batchSize)}, lr ${escapeHtml(c.learningRate)}; recipe <code>${escapeHtml(JSON.stringify(c.recipe ?? 'adam, constant'))}</code>`,
    ],
    ['seeds', escapeHtml((c.seeds as unknown[] | undefined)?.join(', ') ?? '')],
    ['config hash', `<code>${escapeHtml(r.configHash)}</code>`],
    ['status', r.complete ? 'complete' : `<span class="warn" id="partial">${escapeHtml(partialText(r))}</span>`],
    ['generated', escapeHtml(generatedAt)],
  ];
  return `<table class="meta">${rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${v}</td></tr>`).join('')}</table>`;
}

/** What a partial report lacks, in words: the runs missing, why they may be, and how to finish. */
export function partialText(r: Pick<ResultsFile, 'missing'>): string {
  const missing = r.missing ?? [];
  const few = missing
    .slice(0, 8)
    .map((m) => `${m.arm} seed ${m.seed}`)
    .join(', ');
  return `partial: ${missing.length} planned run(s) missing${missing.length > 0 ? ` (${few}${missing.length > 8 ? ', ...' : ''})` : ''}: other shards still running, or interrupted; every number here is of the runs in so far. Rerun the same command, or 'mixstream report OUT' once the shards finish`;
}

function sampleFigures(samples: readonly ArmSample[], classes: readonly string[]): string {
  return samples
    .map((s) => {
      const scale = Math.max(1, Math.round(96 / s.tileSize));
      const width = (s.columns * s.tileSize + (s.columns + 1) * 2) * scale;
      const tiles = s.tiles
        .map(
          (mix, i) =>
            `<div>#${i + 1}: ${mix.map(([c, w]) => `${escapeHtml(classes[c] ?? String(c))} ${(w * 100).toFixed(0)}%`).join(' + ')}</div>`,
        )
        .join('');
      const src = `data:image/png;base64,${s.png.toString('base64')}`;
      return (
        `<figure class="grid" data-arm="${escapeHtml(s.arm)}"><figcaption><b>${escapeHtml(s.arm)}</b>: <code>${escapeHtml(s.pipeline)}</code></figcaption>` +
        `<img alt="first training batch of ${escapeHtml(s.arm)}" src="${src}" width="${width}"><div class="tiles">${tiles}</div></figure>`
      );
    })
    .join('\n');
}

/** The files left out of training (listing, and --on-error skip), each with why; nothing when none. */
function skippedHtml(skipped: ResultsFile['skipped']): string {
  if (!skipped || skipped.length === 0) return '';
  const rows = skipped
    .map((s) => `<tr><td><code>${escapeHtml(printable(s.path))}</code></td><td>${escapeHtml(printable(s.reason))}</td></tr>`)
    .join('');
  return `<h2 id="skipped">Skipped files (${skipped.length})</h2>
<p>Left out of the data when listed (links leaving the root, loops, special files) or when read (under <code>--on-error skip</code>); the runs trained without them.</p>
<table><thead><tr><th>file</th><th>why</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The report as one HTML string. */
export function renderReportHtml(input: ReportInput): string {
  const r = input.results;
  const generatedAt = input.generatedAt ?? new Date().toISOString();
  const specs = Object.fromEntries(input.charts.map((c) => [c.id, c.spec]));
  const chartDivs = input.charts
    .map((c) => `<div class="chart" id="chart-${escapeHtml(c.id)}" data-png="${escapeHtml(c.png ?? '')}"></div>`)
    .join('');
  const libs = input.libraries.map((src) => `<script>${scriptSource(src)}</script>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>mixstream ablation report</title><style>${STYLE}</style></head>
<body>
<h1>mixstream ablation: ${r.summary.map((s) => escapeHtml(s.arm)).join(' vs ')}</h1>
${r.regime ? `<p id="regime">${escapeHtml(r.regime.message)}</p>` : ''}
${r.headline ? verdictsHtml(r.headline) : ''}
${r.comparisons ? comparisonHtml(r.comparisons, r.warnings ?? [], r.headline !== undefined) : ''}
<h2>Setup</h2>
${metaTable(r, generatedAt)}
${skippedHtml(r.skipped)}
<h2>Per arm</h2>
${summaryTable(r.summary, r.arms, r.runs)}
<p>Mean and sample standard deviation across seeds of the test accuracy (the headline metric) and the last epoch's validation and training metrics. Every run, seed and epoch is in <code>results.json</code> and <code>results.csv</code>.</p>
<h2>Over epochs</h2>
<div class="charts">${chartDivs}</div>
${mixingHtml(
  r.runs.filter((x) => x.configHash === r.configHash),
  r.arms.map((a) => a.name),
)}
<h2>What each arm fed the model</h2>
<p>The first training batch of each arm's pipeline (seed ${escapeHtml(r.summary[0]?.seeds[0] ?? '')}, epoch 1), with each image's label mix.</p>
${sampleFigures(input.samples, r.data.classes)}
<script type="application/json" id="report-specs">${scriptJson(specs)}</script>
${libs}
<script>
(function () {
  var specs = JSON.parse(document.getElementById('report-specs').textContent);
  Object.keys(specs).forEach(function (id) {
    var el = document.getElementById('chart-' + id);
    if (typeof vegaEmbed !== 'function') { el.textContent = 'charts need vega-embed (not loaded)'; return; }
    vegaEmbed(el, specs[id], { actions: false, renderer: 'svg' }).catch(function (e) { el.textContent = 'chart failed: ' + e; });
  });
})();
</script>
</body></html>
`;
}

/** The ablation report: HTML (self-contained) and PNG charts, written next to results.json. */
import path from 'node:path';
import type { AblationRun } from '../experiment/run/scheduler.js';
import { writeFileAtomic } from '../experiment/store/atomic.js';
import { chartRows, metricSpec, specToPng, type ChartMetric } from './charts.js';
import { renderReportHtml, vegaLibraries } from './html.js';
import { armSamples } from './samples.js';

export { chartRows, metricSpec, specToPng, specToSvg } from './charts.js';
export type { ChartMetric, ChartRow } from './charts.js';
export { escapeHtml, scriptJson, scriptSource } from './escape.js';
export { percent, renderReportHtml, vegaLibraries } from './html.js';
export type { ReportInput } from './html.js';
export { armSamples, headOfBatch, tileLabels } from './samples.js';
export type { ArmSample } from './samples.js';

export interface ReportFiles {
  readonly html: string;
  readonly pngs: readonly string[];
}

const CHARTS: ReadonlyArray<{ id: string; metric: ChartMetric; file: string }> = [
  { id: 'val-accuracy', metric: 'valAccuracy', file: 'val-accuracy.png' },
  { id: 'val-loss', metric: 'valLoss', file: 'val-loss.png' },
];

/** What a report is made from: a finished ablation, or views rebuilt from a store (data optional: no sample images without it). */
export type ReportSource = Pick<AblationRun, 'results' | 'resultsPath' | 'registry' | 'armOptions'> & {
  readonly config: Pick<AblationRun['config'], 'seeds'>;
  readonly data?: AblationRun['data'];
};

/** Writes report.html, val-accuracy.png and val-loss.png into the run's output folder. */
export async function writeReport(run: ReportSource, options: { readonly pngs?: boolean } = {}): Promise<ReportFiles> {
  const out = path.dirname(run.resultsPath);
  const rows = chartRows(run.results);
  const armNames = run.results.arms.map((a) => a.name);
  const charts = CHARTS.map((c) => ({ ...c, spec: metricSpec(rows, c.metric, armNames) }));
  const pngs: string[] = [];
  if (options.pngs !== false) {
    for (const c of charts) {
      const file = path.join(out, c.file);
      await writeFileAtomic(file, await specToPng(c.spec));
      pngs.push(file);
    }
  }
  const seed = run.config.seeds[0] ?? 0;
  const samples =
    run.data === undefined
      ? []
      : await armSamples(
          run.data,
          run.registry,
          armNames.filter((a) => run.registry.has(a)),
          seed,
          run.armOptions,
        );
  const html = renderReportHtml({
    results: run.results,
    charts: charts.map((c) => ({ id: c.id, spec: c.spec, png: c.file })),
    samples,
    libraries: await vegaLibraries(),
  });
  const file = path.join(out, 'report.html');
  await writeFileAtomic(file, html);
  return { html: file, pngs };
}
export { comparisonHtml, comparisonText, formatCi, formatDiff, formatP } from './comparison.js';
export { mixingByArm, mixingHtml } from './mixing.js';
export { bandRows } from './charts.js';

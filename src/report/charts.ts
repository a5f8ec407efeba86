/**
 * Vega-Lite charts of an ablation: validation accuracy and loss per epoch, one line per arm (the
 * mean over seeds) with a band for the spread across seeds (mean +/- one standard deviation). The
 * same specs go into the HTML report (vega-embed) and to PNG files (vega SVG, rasterised by sharp).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import sharp from 'sharp';
import type { ResultsFile } from '../experiment/results.js';

/** One row per (arm, seed, epoch) of the current config's runs. */
export interface ChartRow {
  readonly arm: string;
  readonly seed: number;
  readonly epoch: number;
  readonly valAccuracy: number;
  readonly valLoss: number;
  readonly accuracy: number;
  readonly loss: number;
}

export function chartRows(results: ResultsFile): ChartRow[] {
  const current = results.runs.filter((r) => r.configHash === results.configHash && results.arms.some((a) => a.name === r.arm));
  return current.flatMap((r) =>
    r.epochs.map((e) => ({ arm: r.arm, seed: r.seed, epoch: e.epoch, valAccuracy: e.valAccuracy, valLoss: e.valLoss, accuracy: e.accuracy, loss: e.loss })),
  );
}

export type ChartMetric = 'valAccuracy' | 'valLoss' | 'accuracy' | 'loss';

const TITLES: Record<ChartMetric, string> = {
  valAccuracy: 'Validation accuracy',
  valLoss: 'Validation loss',
  accuracy: 'Training accuracy (against mixed targets)',
  loss: 'Training loss',
};

/** A line (mean over seeds) per arm, with a mean +/- std band across seeds. */
export function metricSpec(rows: readonly ChartRow[], metric: ChartMetric, arms: readonly string[]): TopLevelSpec {
  const isAccuracy = metric === 'valAccuracy' || metric === 'accuracy';
  const y = { field: metric, type: 'quantitative' as const, title: TITLES[metric], ...(isAccuracy ? { axis: { format: '.0%' } } : {}), scale: { zero: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${TITLES[metric]} per epoch (mean over seeds, band: ±1 std)`,
    width: 460,
    height: 280,
    background: 'white',
    data: { values: rows.map((r) => ({ ...r })) },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      color: { field: 'arm', type: 'nominal', title: 'arm', sort: [...arms] },
    },
    layer: [
      { mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 }, encoding: { y } },
      { mark: { type: 'line', point: true }, encoding: { y: { ...y, aggregate: 'mean' } } },
    ],
  } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to SVG text in Node (no browser, no canvas). */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec to PNG bytes (SVG rasterised by sharp at `density` dpi). */
export async function specToPng(spec: TopLevelSpec, density = 144): Promise<Buffer> {
  const svg = await specToSvg(spec);
  return sharp(Buffer.from(svg), { density }).flatten({ background: '#ffffff' }).png().toBuffer();
}

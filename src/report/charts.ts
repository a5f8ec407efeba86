/**
 * Vega-Lite charts of an ablation: validation accuracy and loss per epoch, one line per arm (the
 * mean over seeds) with a 95% Student t confidence band of that mean across seeds (not +-1 std:
 * the band says where the mean is, which is what comparing arms needs), and each seed as a thin
 * line (so a reader sees the pairing and the outliers). The
 * same specs go into the HTML report (vega-embed) and to PNG files (vega SVG, rasterised by sharp).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import sharp from 'sharp';
import type { ResultsFile } from '../experiment/store/results.js';
import { tQuantile } from '../experiment/stats/tdist.js';

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
    r.epochs.map((e) => ({
      arm: r.arm,
      seed: r.seed,
      epoch: e.epoch,
      valAccuracy: e.valAccuracy,
      valLoss: e.valLoss,
      accuracy: e.accuracy,
      loss: e.loss,
    })),
  );
}

export type ChartMetric = 'valAccuracy' | 'valLoss' | 'accuracy' | 'loss';

const TITLES: Record<ChartMetric, string> = {
  valAccuracy: 'Validation accuracy',
  valLoss: 'Validation loss',
  accuracy: 'Training accuracy (against mixed targets)',
  loss: 'Training loss',
};

/** Per (arm, epoch): the mean over seeds and its 95% t interval (the mean itself below 2 seeds). */
export function bandRows(
  rows: readonly ChartRow[],
  metric: ChartMetric,
): Array<{ arm: string; epoch: number; mean: number; low: number; high: number; n: number }> {
  const groups = new Map<string, { arm: string; epoch: number; values: number[] }>();
  for (const r of rows) {
    const key = `${r.arm}\u0000${r.epoch}`;
    const g = groups.get(key) ?? { arm: r.arm, epoch: r.epoch, values: [] };
    g.values.push(r[metric]);
    groups.set(key, g);
  }
  return [...groups.values()].map(({ arm, epoch, values }) => {
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    const half = n > 1 ? (tQuantile(0.975, n - 1) * sd) / Math.sqrt(n) : 0;
    return { arm, epoch, mean, low: mean - half, high: mean + half, n };
  });
}

/** A line (mean over seeds) per arm with its 95% t band, and a thin line per seed. */
export function metricSpec(rows: readonly ChartRow[], metric: ChartMetric, arms: readonly string[]): TopLevelSpec {
  const isAccuracy = metric === 'valAccuracy' || metric === 'accuracy';
  const axis = isAccuracy ? { axis: { format: '.0%' } } : {};
  const y = (field: string) => ({ field, type: 'quantitative' as const, title: TITLES[metric], ...axis, scale: { zero: false } });
  const bands = bandRows(rows, metric);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${TITLES[metric]} per epoch (mean over seeds, band: 95% t interval of the mean; thin: each seed)`,
    width: 460,
    height: 280,
    background: 'white',
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      color: { field: 'arm', type: 'nominal', title: 'arm', sort: [...arms] },
    },
    layer: [
      {
        data: { values: rows.map((r) => ({ ...r })) },
        mark: { type: 'line', strokeWidth: 0.8, opacity: 0.35 },
        encoding: { y: y(metric), detail: { field: 'seed', type: 'nominal' } },
      },
      { data: { values: bands }, mark: { type: 'area', opacity: 0.18 }, encoding: { y: y('low'), y2: { field: 'high' } } },
      { data: { values: bands }, mark: { type: 'line', point: true }, encoding: { y: y('mean') } },
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

/**
 * The report's comparison table in headless Chromium: first on the page, and its numbers are
 * results.json's. Built from hand-made runs (no training), so it is quick and exact.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { analyzeRuns } from '../../src/experiment/stats/analysis.js';
import type { ResultsFile, RunRecord } from '../../src/experiment/store/results.js';
import { RESULTS_FORMAT, summarize } from '../../src/experiment/store/results.js';
import { chartRows, metricSpec } from '../../src/report/charts.js';
import { comparisonText, formatCi, formatDiff, formatP } from '../../src/report/comparison.js';
import { renderReportHtml, vegaLibraries } from '../../src/report/html.js';
import { tempDir, valRun } from '../helpers.js';

const run = (arm: string, seed: number, accs: number[]): RunRecord =>
  valRun(arm, seed, accs, {
    backend: 'wasm',
    mixing: {
      batches: 10,
      mixedBatches: arm === 'mixup' ? 10 : 0,
      barelyMixedBatches: arm === 'mixup' ? 7 : 0,
      histogram: Array.from({ length: 20 }, (_, i) => (arm === 'mixup' && i === 19 ? 7 : arm === 'mixup' && i === 3 ? 3 : 0)),
    },
  });

function fixture(): ResultsFile {
  const arms = ['baseline', 'worse', 'mixup'];
  const seeds = [1, 2, 3, 4, 5, 6, 7];
  const runs = seeds.flatMap((s) => [
    run('baseline', s, [0.4, 0.5 + s / 100, 0.52 + s / 100]),
    run('worse', s, [0.3, 0.4 + s / 200, 0.41 + s / 300]),
    run('mixup', s, [0.4, 0.5 + s / 90, 0.52 + ((s * 37) % 7) / 100]),
  ]);
  const armInfo = arms.map((name) => ({ name, summary: name, pipeline: '' }));
  return {
    format: RESULTS_FORMAT,
    updatedAt: '',
    complete: true,
    configHash: 'h',
    config: { seeds, epochs: 3 },
    data: { kind: 'image-folder', location: 'x', classes: ['a', 'b'], trainCount: 100, validationCount: 50, fingerprint: 'f' },
    backend: { name: 'wasm', tfBackend: 'wasm', reason: '', skipped: [] },
    arms: armInfo,
    runs,
    summary: summarize(runs, armInfo),
    ...analyzeRuns(runs, { arms, validationCount: 50 }),
  };
}

describe('report comparison table', () => {
  it('comes first and shows results.json numbers, verdicts and warnings', async () => {
    const results = fixture();
    const set = results.comparisons!;
    const worse = set.comparisons.find((c) => c.arm === 'worse' && c.metric === 'lastKValAccuracy')!;
    expect(worse.verdict).toBe('worse');
    expect(results.warnings!.map((w) => w.kind)).toEqual(expect.arrayContaining(['few-validation-images', 'arm-barely-acted']));
    expect(comparisonText(set, results.warnings!)).toMatch(/worse +7 +-?\d+\.\d pts/);

    const rows = chartRows(results);
    const html = renderReportHtml({
      results,
      charts: [{ id: 'val-accuracy', spec: metricSpec(rows, 'valAccuracy', ['baseline', 'worse', 'mixup']) }],
      samples: [],
      libraries: await vegaLibraries(),
    });
    const file = path.join(await tempDir(), 'report.html');
    await writeFile(file, html);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('#chart-val-accuracy svg', { timeout: 0 }); // the test's limit applies
      const firstTable = await page.$eval('table', (t) => t.id);
      // The verdicts on the headline metric come first; every metric against the baseline follows, descriptive.
      expect(firstTable).toBe('verdicts');
      const shown = await page.$$eval('#comparison tbody tr', (trs) =>
        trs.map((tr) => {
          const cell = (c: string) => tr.querySelector(`td.${c}`);
          return {
            arm: tr.getAttribute('data-arm'),
            metric: tr.getAttribute('data-metric'),
            n: cell('n')?.textContent,
            diff: cell('diff')?.textContent,
            diffValue: Number(cell('diff')?.getAttribute('data-value')),
            ci: cell('ci')?.textContent,
            p: cell('p')?.textContent,
            pHolm: cell('p-holm')?.textContent,
            verdict: cell('verdict')?.querySelector('b')?.textContent,
            seedsT: cell('seeds-needed')?.getAttribute('data-t'),
          };
        }),
      );
      expect(shown.map((r) => r.arm)).toEqual(['worse', 'mixup']);
      for (const row of shown) {
        const c = set.comparisons.find((x) => x.arm === row.arm && x.metric === row.metric)!;
        expect(c.metric).toBe('lastKValAccuracy');
        expect(row.n).toBe(String(c.n));
        expect(row.diffValue).toBe(c.mean);
        expect(row.diff).toBe(formatDiff(c, c.mean));
        expect(row.ci).toBe(formatCi(c));
        expect(row.p).toBe(formatP(c.p));
        expect(row.pHolm).toBe(formatP(c.pHolm));
        expect(row.verdict).toBe(c.verdict);
        expect(row.seedsT).toBe(String(c.seedsNeeded.tTest ?? ''));
      }
      expect(await page.$$eval('#warnings li', (lis) => lis.map((l) => l.getAttribute('data-kind')))).toEqual(
        results.warnings!.map((w) => w.kind),
      );
      expect(await page.$eval('#mixing tr[data-arm="mixup"] td.barely', (td) => td.textContent)).toBe('70%');
      expect(await page.$$eval('#summary .best', (x) => x.length)).toBe(0); // no winner bolded by mean
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

/**
 * The report's first screen, in headless Chromium: without scrolling, it answers "does CutMix help
 * here, by how much, how sure" in words, from results.json's headline verdicts. Built from
 * hand-made runs with counts and per-image bits (no training).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { rng } from '../../src/core/random.js';
import { encodeBits, type RunRecord } from '../../src/experiment/record.js';
import { analyzeRuns } from '../../src/experiment/stats/analysis.js';
import { RESULTS_FORMAT, summarize, type ResultsFile } from '../../src/experiment/store/results.js';
import { renderReportHtml } from '../../src/report/html.js';
import { answerSentence } from '../../src/report/verdicts.js';
import { runRecord, tempDir } from '../helpers.js';

const IMAGES = 400;

/** A run whose final model gets each test image right with probability `p`. */
function run(arm: string, seed: number, p: number): RunRecord {
  const r = rng(seed, 'answer-test', arm);
  const bits = new Uint8Array(IMAGES / 8);
  let correct = 0;
  for (let i = 0; i < IMAGES; i++)
    if (r.next() < p) {
      bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
      correct++;
    }
  return runRecord(arm, seed, { test: { loss: 1, accuracy: correct / IMAGES, images: IMAGES, correct, bits: encodeBits(bits) } });
}

function fixture(): ResultsFile {
  const arms = ['baseline', 'augment', 'cutmix'];
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
  const runs = seeds.flatMap((s) => [run('baseline', s, 0.5), run('augment', s, 0.55), run('cutmix', s, 0.45)]);
  const armInfo = [
    { name: 'baseline', summary: 'baseline', pipeline: '' },
    { name: 'augment', summary: 'augment', pipeline: '', parent: 'baseline' },
    { name: 'cutmix', summary: 'cutmix', pipeline: '', parent: 'augment' },
  ];
  return {
    format: RESULTS_FORMAT,
    updatedAt: '',
    complete: true,
    configHash: 'h',
    config: { seeds, epochs: 1 },
    data: {
      kind: 'image-folder',
      location: 'x',
      classes: ['a', 'b'],
      trainCount: 100,
      validationCount: 100,
      testCount: IMAGES,
      fingerprint: 'f',
    },
    backend: { name: 'wasm', tfBackend: 'wasm', reason: '', skipped: [] },
    arms: armInfo,
    runs,
    summary: summarize(runs, armInfo),
    ...analyzeRuns(runs, { arms, validationCount: 100, parents: { augment: 'baseline', cutmix: 'augment' } }),
  };
}

describe('report first screen', () => {
  it('answers "does CutMix help here, by how much, how sure" in words, above the fold', async () => {
    const results = fixture();
    const cutmix = results.headline!.contrasts.find((c) => c.arm === 'cutmix' && c.role === 'primary')!;
    expect(cutmix.reference).toBe('augment');
    const file = path.join(await tempDir(), 'report.html');
    await writeFile(file, renderReportHtml({ results, charts: [], samples: [], libraries: [] }));
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(pathToFileURL(file).href);
      const shot = path.join(path.dirname(file), 'first-screen.png');
      await page.screenshot({ path: shot }); // the first screen, as a reader sees it
      const answer = page.locator('#answer p[data-arm="cutmix"]');
      const box = await answer.boundingBox();
      expect(box).not.toBeNull();
      expect((box?.y ?? 1e9) + (box?.height ?? 0)).toBeLessThanOrEqual(800);
      const text = (await answer.textContent()) ?? '';
      expect(text).toBe(answerSentence(results.headline!, cutmix));
      expect(text).toMatch(/^Does cutmix help here \(against augment\)\?/); // the question
      expect(text).toMatch(/[+−]\d+\.\d\d pts test accuracy on 400 images over 8 seeds/); // by how much
      expect(text).toMatch(/interval over seeds and test images/); // with both sources of noise
      expect(text).toMatch(/Sure at the family's 5% level|Inconclusive|equivalent within/); // how sure
      expect(await page.$eval('table', (t) => t.id)).toBe('verdicts');
    } finally {
      await browser.close();
    }
  }, 60_000);
});

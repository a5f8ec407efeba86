/**
 * End to end: the CLI on a tiny data set (3 classes x 12 images, size 16, 1 epoch, 2 seeds, 2 arms),
 * its results.json and report.html (in headless Chromium), resume, determinism and Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResultsFile } from '../../src/experiment/store/results.js';
import { meanStd } from '../../src/experiment/stats/meanSd.js';
import { percent } from '../../src/report/html.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { systemPackage } from '../system.js';
import { runCli } from './helpers.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1">&\u2028';
let root = '';
let data = '';
const args = (out: string, extra: string[] = []): string[] => [
  'ablate',
  '--data',
  data,
  '--arms',
  'baseline,cutmix',
  '--epochs',
  '1',
  '--seeds',
  '2',
  '--size',
  '16',
  '--batch',
  '8',
  '--backend',
  'wasm',
  '--out',
  out,
  ...extra,
];
const readResults = async (out: string): Promise<ResultsFile> =>
  JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as ResultsFile;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mixstream-cli-'));
  data = path.join(root, 'data');
  const names = await writeSyntheticFolder(data, { classes: 3, perClass: 12, seed: 3, minSide: 16, maxSide: 40, noise: 30 });
  await rename(path.join(data, names[1]!), path.join(data, HOSTILE)); // class names are untrusted input
});

describe('mixstream ablate on a tiny data set', () => {
  it('writes results.json, results.csv, report.html and PNG charts; the report renders in Chromium with the right numbers', async (ctx) => {
    const out = path.join(root, 'run');
    const r = await runCli(args(out));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/total \d+\.\d s/);
    expect(r.stdout).toMatch(/\[4\/4\] cutmix seed 2/);
    expect(r.stdout).not.toContain('\x1b['); // not a TTY: plain lines

    const results = await readResults(out);
    expect(results.complete).toBe(true);
    expect(results.backend.name).toBe('wasm');
    expect(results.data.classes).toContain(HOSTILE);
    expect(results.runs.map((x) => `${x.arm}/${x.seed}`)).toEqual(['baseline/1', 'baseline/2', 'cutmix/1', 'cutmix/2']);
    for (const run of results.runs) {
      expect(run.epochs).toHaveLength(1);
      const e = run.epochs[0]!;
      for (const v of [e.loss, e.accuracy, e.valLoss, e.valAccuracy, e.seconds, e.imagesPerSecond]) expect(Number.isFinite(v)).toBe(true);
      expect(run.backend).toBe('wasm');
      expect(run.pipeline.train).toContain(run.arm === 'cutmix' ? `cutmix({"alpha":1,"seed":${run.seed}})` : 'oneHot({})');
      expect(run.pipeline.validation).toBe('normalizeResize({"size":16}) -> batch({"size":8}) -> oneHot({})');
    }
    for (const s of results.summary) {
      const finals = results.runs.filter((x) => x.arm === s.arm).map((x) => x.epochs[0]!.valAccuracy);
      expect(s.finalValAccuracy.mean).toBeCloseTo(meanStd(finals).mean, 12);
      expect(s.finalValAccuracy.std).toBeCloseTo(meanStd(finals).std, 12);
    }
    const csv = (await readFile(path.join(out, 'results.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe(
      'arm,seed,epoch,loss,accuracy,val_loss,val_accuracy,seconds,train_seconds,images_per_second,backend,config_hash,val_correct,val_images,test_accuracy,test_correct,test_images,diverged_epoch',
    );
    expect(csv).toHaveLength(5);
    for (const png of ['val-accuracy.png', 'val-loss.png'])
      expect((await readFile(path.join(out, png))).subarray(1, 4).toString()).toBe('PNG');

    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    // The regime (the reference's train/validation gap) is stated in the terminal and the report, from the runs.
    expect(results.regime?.arm).toBe('baseline');
    expect(results.regime?.seeds).toBe(2);
    expect(r.stdout).toContain(`${results.regime?.message}\n`);
    expect(html).toMatch(/<p id="regime">Regime: baseline trains to \d+\.\d% and validates at \d+\.\d%/);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;&amp;');
    expect(html).not.toMatch(/<script[^>]+src=/); // self-contained
    expect(html.split('\u2028')).toHaveLength(1);

    // The browser half needs Debian's chromium: skipped (visibly) where it is absent.
    if (!systemPackage('chromium', '/usr/bin/chromium')) return ctx.skip();
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith('file:') && !req.url().startsWith('data:')) requests.push(req.url());
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(path.join(out, 'report.html')).href);
      // No limit of their own (0): the test's applies; Chromium draws late on a loaded machine.
      await page.waitForSelector('#chart-val-accuracy svg, #chart-val-accuracy canvas', { timeout: 0 });
      await page.waitForSelector('#chart-val-loss svg, #chart-val-loss canvas', { timeout: 0 });
      const marks = await page.locator('#chart-val-accuracy svg path').count();
      expect(marks).toBeGreaterThan(2);
      const rows = await page.$$eval('#summary tbody tr', (trs) =>
        trs.map((tr) => ({
          arm: tr.getAttribute('data-arm'),
          text: tr.querySelector('td.val-acc')?.textContent,
          mean: Number(tr.querySelector('td.val-acc')?.getAttribute('data-mean')),
        })),
      );
      expect(rows.map((x) => x.arm)).toEqual(['baseline', 'cutmix']);
      for (const row of rows) {
        const s = results.summary.find((x) => x.arm === row.arm)!;
        expect(row.mean).toBe(s.finalValAccuracy.mean);
        expect(row.text).toBe(`${percent(s.finalValAccuracy.mean)} ± ${percent(s.finalValAccuracy.std)}`);
      }
      const images = await page.$$eval('figure.grid img', (imgs) =>
        imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth),
      );
      expect(images).toHaveLength(2);
      for (const w of images) expect(w).toBeGreaterThan(16);
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.locator('text=' + HOSTILE.slice(0, 20)).count()).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }

    // Rerun: every run is finished, nothing retrains, nothing changes.
    const again = await runCli(args(out, ['--no-report']));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('4 already finished (skipped)');
    expect(again.stdout).not.toMatch(/\[\d+\/\d+\]/);
    const same = await readResults(out);
    expect(same.runs).toEqual(results.runs);

    // Resume after losing one run: only it is trained again, to the same numbers (seeded model and pipeline).
    const lost = results.runs.find((x) => x.arm === 'cutmix' && x.seed === 2)!;
    // results.json is a view: editing it loses nothing; the run's own file in the store is what counts.
    await writeFile(
      path.join(out, 'results.json'),
      JSON.stringify({ ...results, runs: results.runs.filter((x) => x !== lost), complete: false }),
    );
    await rm(path.join(out, 'runs', results.configHash, 'cutmix-s2.json'));
    const resumed = await runCli(args(out, ['--no-report']));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('3 already finished (skipped)');
    expect(resumed.stdout).toMatch(/\[1\/1\] cutmix seed 2/);
    const after = await readResults(out);
    expect(after.complete).toBe(true);
    const redone = after.runs.find((x) => x.arm === 'cutmix' && x.seed === 2)!;
    expect(redone.finishedAt).not.toBe(lost.finishedAt);
    const metrics = (e: (typeof lost.epochs)[number]): number[] => [e.loss, e.accuracy, e.valLoss, e.valAccuracy];
    expect(redone.epochs.map(metrics)).toEqual(lost.epochs.map(metrics));
  });

  it('Ctrl-C (SIGINT) stops cleanly with exit 130 and no stack trace, and a rerun resumes', async () => {
    const out = path.join(root, 'interrupted');
    let sent = false;
    const r = await runCli(args(out, ['--epochs', '300', '--arms', 'baseline', '--seeds', '1']), {
      onStdout: (text, kill) => {
        if (!sent && /epoch 2\/300/.test(text)) {
          sent = true;
          kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(r.stderr).toMatch(/Run the same command again to resume/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(out, 'results.json'))).toBe(true);
    const results = await readResults(out);
    expect(results.complete).toBe(false);
    expect(results.runs).toEqual([]);
  });
});

import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_VERSION, ensureBuiltinDataset } from '../../src/experiment/data/builtin.js';
import { shortHash, stableJson } from '../../src/experiment/plan/identity.js';
import { formatDuration, ProgressPrinter } from '../../src/cli/progress.js';
import { csvField, readRuns, resultsCsv, summarize } from '../../src/experiment/store/results.js';
import { writeFileAtomic } from '../../src/experiment/store/atomic.js';
import { meanStd } from '../../src/experiment/stats/meanSd.js';
import { tempDir, valRun as run } from '../helpers.js';

describe('results', () => {
  it('mean and sample standard deviation', () => {
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1, n: 3 });
    expect(meanStd([5])).toEqual({ mean: 5, std: 0, n: 1 });
    expect(meanStd([]).n).toBe(0);
  });

  it('summarises each arm across seeds, per epoch and final', () => {
    const s = summarize(
      [run('a', 1, [0.2, 0.4]), run('a', 2, [0.3, 0.6]), run('b', 1, [0.1, 0.1])],
      [
        { name: 'b', summary: 'B' },
        { name: 'a', summary: 'A' },
        { name: 'c', summary: 'C' },
      ],
    );
    expect(s.map((x) => x.arm)).toEqual(['b', 'a']);
    const a = s[1]!;
    expect(a.seeds).toEqual([1, 2]);
    expect(a.finalValAccuracy.mean).toBeCloseTo(0.5);
    expect(a.finalValAccuracy.std).toBeCloseTo(Math.SQRT2 * 0.1);
    expect(a.perEpoch.map((e) => e.valAccuracy.mean)).toEqual([0.25, 0.5]);
  });

  it('writes CSV rows per (arm, seed, epoch), quoting and defusing formulas', () => {
    const csv = resultsCsv([run('a', 1, [0.2, 0.4])])
      .trim()
      .split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[1]).toBe('a,1,1,1,0.5,1.8,0.2,1,1,10,cpu,h,,,,,,'); // no counts, test split or divergence in this run
    expect(csvField('x,"y"')).toBe('"x,""y"""');
    expect(csvField('=cmd()')).toBe("'=cmd()");
    expect(csvField(-1)).toBe('-1');
  });

  it('writes atomically and reads back runs, ignoring broken files', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'results.json');
    expect(await readRuns(file)).toEqual([]);
    await writeFileAtomic(file, JSON.stringify({ format: 'mixstream-ablation/1', runs: [run('a', 1, [0.5])] }));
    expect((await readRuns(file)).map((r) => r.key)).toEqual(['a|1']);
    expect(await readdir(dir)).toEqual(['results.json']);
    await writeFile(file, '{"format": "mixstream-abl');
    expect(await readRuns(file)).toEqual([]);
  });

  it('hashes configs independently of key order', () => {
    expect(stableJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(shortHash({ a: 1, b: 2 })).toBe(shortHash({ b: 2, a: 1 }));
    expect(shortHash({ a: 1 })).not.toBe(shortHash({ a: 2 }));
  });

  it('prints plain lines when not a terminal, a live status line on one', () => {
    let text = '';
    const lines = new ProgressPrinter((t) => (text += t), 'lines');
    const batch = {
      type: 'batch',
      arm: 'a',
      seed: 1,
      run: 1,
      runs: 2,
      epoch: 1,
      epochs: 2,
      batch: 3,
      batches: 9,
      imagesPerSecond: 100,
      etaSeconds: 75,
    } as const;
    lines.onProgress(batch);
    expect(text).toBe('');
    lines.onProgress({
      type: 'epoch',
      arm: 'a',
      seed: 1,
      run: 1,
      runs: 2,
      epochs: 2,
      record: run('a', 1, [0.5]).epochs[0]!,
      etaSeconds: 75,
    });
    expect(text).toBe('  a seed 1 epoch 1/2: loss 1.000 acc 50.0%  val loss 1.500 val acc 50.0%  10 img/s 1.0s  ETA 1m15s\n');
    let tty = '';
    new ProgressPrinter((t) => (tty += t), 'tty').onProgress(batch);
    expect(tty).toContain('\r\x1b[2K[1/2] a seed 1  epoch 1/2  batch 3/9  100 img/s  ETA 1m15s');
    let quiet = '';
    new ProgressPrinter((t) => (quiet += t), 'quiet').onProgress({ type: 'info', message: 'x' });
    expect(quiet).toBe('');
    expect(formatDuration(3700)).toBe('1h01m');
  });

  it('generates the built-in data set once, atomically, with a marker, then reuses it', async () => {
    const cacheDir = await tempDir();
    let generated = 0;
    const options = { cacheDir, synthetic: { classes: 2, perClass: 2, minSide: 8, maxSide: 12 }, onGenerate: () => generated++ };
    const folder = await ensureBuiltinDataset(options);
    expect(path.basename(folder)).toBe(BUILTIN_VERSION);
    expect((await readdir(cacheDir)).sort()).toEqual([BUILTIN_VERSION]); // no temp folder left
    expect((await readdir(folder)).sort()).toEqual(['.complete', 'test', 'train']);
    expect((await readdir(path.join(folder, 'test'))).sort()).toEqual(['class_00', 'class_01']);
    expect(JSON.parse(await readFile(path.join(folder, '.complete'), 'utf8')).version).toBe(BUILTIN_VERSION);
    expect(await ensureBuiltinDataset(options)).toBe(folder);
    expect(generated).toBe(1);
  });
});

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommand, parseSeeds, UsageError } from '../../src/cli/args.js';
import { DEFAULT_CONFIG } from '../../src/experiment/plan/config.js';
import { runCli } from './helpers.js';

describe('mixstream ablate: arguments', () => {
  it('defaults to the reference ablation', () => {
    const c = parseCommand(['ablate']);
    expect(c.kind).toBe('ablate');
    if (c.kind !== 'ablate') return;
    expect(c.config).toEqual(DEFAULT_CONFIG);
    expect(c.config.arms).toEqual(['baseline', 'augment', 'cutmix', 'mixup']);
    expect(c.config.seeds.length).toBeGreaterThanOrEqual(2);
  });

  it('parses every flag', () => {
    const c = parseCommand([
      'ablate',
      '--data',
      'dogs',
      '--arms',
      'baseline, cutmix',
      '--epochs',
      '3',
      '--seeds',
      '0,7',
      '--size',
      '24',
      '--batch',
      '16',
      '--model',
      'mobilenet',
      '--backend',
      'cpu',
      '--lr',
      '1e-3',
      '--val-split',
      '0.25',
      '--shuffle-window',
      '64',
      '--out',
      'o',
      '--quiet',
      '--no-report',
    ]);
    expect(c).toMatchObject({
      kind: 'ablate',
      quiet: true,
      report: false,
      config: {
        data: 'dogs',
        arms: ['baseline', 'cutmix'],
        epochs: 3,
        seeds: [0, 7],
        size: 24,
        batchSize: 16,
        model: 'mobilenet',
        modelOptions: {},
        backend: 'cpu',
        learningRate: 0.001,
        validationSplit: 0.25,
        shuffleWindow: 64,
        out: 'o',
      },
    });
    expect(parseSeeds('3')).toEqual([1, 2, 3]);
    expect(parseSeeds('5,')).toEqual([5]);
  });

  it('rejects bad values with one message each', () => {
    const bad: Array<[string[], RegExp]> = [
      [['ablate', '--epochs', 'ten'], /--epochs must be a positive integer, got 'ten'/],
      [['ablate', '--epochs', '0'], /--epochs must be a positive integer/],
      [['ablate', '--seeds', '1,x'], /--seeds must be/],
      [['ablate', '--lr', 'fast'], /--lr must be a number/],
      [['ablate', '--val-split', '1.5'], /--val-split must be in \(0, 1\)/],
      [['ablate', '--model', 'vgg'], /unknown model 'vgg'/],
      [['ablate', '--backend', 'tpu'], /unknown backend 'tpu'/],
      [['ablate', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['ablate', '--model-options', '[1]'], /JSON object/],
      [['train'], /unknown command 'train'/],
      [['ablate', '--jobs', '0'], /--jobs must be a positive integer, got '0'/],
      [['ablate', '--jobs', 'many'], /--jobs must be a positive integer, got 'many'/],
      [['ablate', '--shard', '5/4'], /--shard INDEX must be in 0\.\.3, got '5\/4'/],
      [['ablate', '--shard', '4/4'], /--shard INDEX must be in 0\.\.3/],
      [['ablate', '--shard', 'x'], /--shard must be INDEX\/COUNT \(e\.g\. 0\/4\), got 'x'/],
      [['ablate', '--shard', '0/0'], /--shard COUNT must be at least 1/],
      [['report'], /report takes one output folder, got none/],
    ];
    for (const [argv, message] of bad) expect(() => parseCommand(argv), argv.join(' ')).toThrow(message);
    expect(() => parseCommand(['ablate', '--size', '-3'])).toThrow(UsageError);
  });

  it('explains every flag with its default in --help', () => {
    const c = parseCommand(['ablate', '--help']);
    if (c.kind !== 'help') throw new Error('expected help');
    for (const flag of [
      '--data',
      '--arms',
      '--epochs',
      '--seeds',
      '--size',
      '--batch',
      '--model',
      '--backend',
      '--out',
      '--val-split',
      '--lr',
    ])
      expect(c.text).toContain(flag);
    expect(c.text).toContain(`[${DEFAULT_CONFIG.epochs}]`);
    expect(c.text).toContain('[baseline,augment,cutmix,mixup]');
  });
});

describe('mixstream ablate --jobs / --shard: bad values exit 2 with one line on stderr', () => {
  it('--jobs 0, --shard 5/4, --shard x', async () => {
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'mixstream-cli-jobs-')), 'out');
    const cases: Array<[string[], RegExp]> = [
      [['ablate', '--jobs', '0', '--out', out], /^mixstream: --jobs must be a positive integer, got '0'/],
      [['ablate', '--shard', '5/4', '--out', out], /^mixstream: --shard INDEX must be in 0\.\.3, got '5\/4'/],
      [['ablate', '--shard', 'x', '--out', out], /^mixstream: --shard must be INDEX\/COUNT/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false); // refused before anything is written
  }, 120_000);
});

describe('mixstream ablate: bad input exits 2 with one line on stderr', () => {
  it('for a missing folder, an empty folder, an unknown arm or model, and a non-numeric flag', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'mixstream-cli-bad-'));
    const empty = path.join(root, 'empty');
    await mkdir(path.join(empty, 'cats'), { recursive: true });
    await writeFile(path.join(empty, 'cats', 'notes.txt'), 'not an image');
    const out = path.join(root, 'out');
    const cases: Array<[string[], RegExp]> = [
      [['ablate', '--data', path.join(root, 'missing'), '--out', out], /does not exist/],
      [['ablate', '--data', empty, '--out', out], /holds no images/],
      [
        ['ablate', '--data', empty, '--arms', 'baseline,cutmixx', '--out', out],
        /unknown arm 'cutmixx'; known arms: baseline, augment, cutmix, mixup/,
      ],
      [['ablate', '--model', 'vgg16', '--out', out], /unknown model 'vgg16'/],
      [['ablate', '--epochs', 'abc', '--out', out], /--epochs must be a positive integer, got 'abc'/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, { env: { MIXSTREAM_CACHE: path.join(root, 'cache') } })));
    for (const [i, r] of results.entries()) {
      const [args, message] = cases[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(/^mixstream: /);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('the bin launcher runs the CLI (help, and exit 2)', async () => {
    const help = await runCli(['ablate', '--help'], { script: ['bin/mixstream.js'] });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: mixstream ablate');
    const bad = await runCli(['ablate', '--batch', 'big'], { script: ['bin/mixstream.js'] });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^mixstream: --batch must be a positive integer, got 'big'/);
  });
});

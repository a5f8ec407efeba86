/**
 * Sane bounds and degenerate data (issue 23, faults 9, 10, 11): --jobs never more than the runs
 * planned; one class, or a split holding one class, refused in one line; numbers out of range said
 * as such (not "must be a number"), a learning rate that is 0 in float32 refused, --momentum 0.0
 * taken like 0, and a comma list of seeds bounded like a count.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/values.js';
import { InputError } from '../../src/experiment/errors.js';
import { defaultArmRegistry } from '../../src/experiment/plan/arms.js';
import { DEFAULT_CONFIG } from '../../src/experiment/plan/config.js';
import { jobsForPlan, plannedRunCount } from '../../src/experiment/plan/planRuns.js';
import { validateConfig } from '../../src/experiment/plan/validate.js';
import { prepareAblation } from '../../src/experiment/train/prepare.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { runCli } from '../cli/helpers.js';
import { scratchDir } from './corpus.js';

let dir = '';
let remove = async (): Promise<void> => {};
beforeAll(async () => {
  ({ dir, remove } = await scratchDir('hostile-bounds'));
});
afterAll(() => remove());

const ablate = (...args: string[]) => {
  const c = parseCommand(['ablate', ...args]);
  if (c.kind !== 'ablate') throw new Error(`expected an ablate command, got ${c.kind}`);
  return c;
};

describe('bounds on flags', () => {
  it.each<[string, string[], RegExp]>([
    ['--effect -1', ['--effect', '-1'], /--effect must be in \(0, 100\), got -1$/],
    ['--lr -1', ['--lr', '-1'], /--lr must be in \(0, 10\), got -1$/],
    ['--momentum -0.5', ['--momentum', '-0.5'], /--momentum must be in \(0, 1000000\), got -0.5$/],
    ['--lr abc', ['--lr', 'abc'], /--lr must be a number, got 'abc'/],
    [
      '--seeds 0,1,...,20000',
      ['--seeds', Array.from({ length: 20_001 }, (_, i) => i).join(',')],
      /--seeds lists 20001 seeds; at most 1000/,
    ],
    ['--seeds 10000', ['--seeds', '10000'], /--seeds count must be at most 1000, got 10000/],
  ])('%s is refused saying what is wrong', (_, args, message) => {
    expect(() => ablate(...args)).toThrow(UsageError);
    expect(() => ablate(...args)).toThrow(message);
  });

  it('--momentum 0.0 is taken like --momentum 0', () => {
    expect(ablate('--momentum', '0.0').config.recipe?.momentum).toBe(0);
    expect(ablate('--momentum', '0e0').config.recipe?.momentum).toBe(0);
    expect(ablate('--momentum', '0').config.recipe?.momentum).toBe(0);
  });

  it('a learning rate that is 0 in float32 (1e-300) is refused; the smallest float32 one is taken', () => {
    const config = ablate('--lr', '1e-300').config;
    expect(() => validateConfig(config, defaultArmRegistry())).toThrow(/learning rate 1e-300 is 0 in float32/);
    expect(() => validateConfig({ ...DEFAULT_CONFIG, learningRate: 1e-44 }, defaultArmRegistry())).not.toThrow();
    expect(() => validateConfig({ ...DEFAULT_CONFIG, seeds: Array.from({ length: 1001 }, (_, i) => i) }, defaultArmRegistry())).toThrow(
      /1001 seeds given; at most 1000/,
    );
  });

  it("a shard's planned runs are counted as shardShare takes them", () => {
    expect(plannedRunCount(1, 2)).toBe(2);
    expect(plannedRunCount(4, 5, { index: 0, count: 3 })).toBe(7);
    expect(plannedRunCount(4, 5, { index: 2, count: 3 })).toBe(6);
    expect(plannedRunCount(1, 1, { index: 3, count: 4 })).toBe(0);
  });

  it('--jobs is capped by one rule (jobsForPlan): at most the runs planned, at least one, a positive integer', () => {
    expect(jobsForPlan(64, 1, 2)).toEqual({ jobs: 2, planned: 2 });
    expect(jobsForPlan(3, 4, 5, { index: 2, count: 3 })).toEqual({ jobs: 3, planned: 6 });
    expect(jobsForPlan(8, 1, 1, { index: 3, count: 4 })).toEqual({ jobs: 1, planned: 0 });
    expect(() => jobsForPlan(0, 1, 2)).toThrow(/jobs must be a positive integer, got 0/);
    expect(() => jobsForPlan(1.5, 1, 2)).toThrow(InputError);
  });
});

describe('degenerate data', () => {
  it('one class is refused in one line: nothing to learn', async () => {
    const data = path.join(dir, 'one-class');
    await writeSyntheticFolder(data, { classes: 1, perClass: 8, seed: 1, minSide: 12, maxSide: 16 });
    const config = {
      ...DEFAULT_CONFIG,
      data,
      arms: ['baseline'],
      seeds: [1],
      epochs: 1,
      size: 8,
      batchSize: 4,
      backend: 'wasm' as const,
      out: path.join(dir, 'o1'),
    };
    await expect(prepareAblation(config)).rejects.toThrow(InputError);
    await expect(prepareAblation(config)).rejects.toThrow(/holds one class \('class_00'\): there is nothing to learn/);
  });

  it('a validation split holding one class is refused in one line', async () => {
    const data = path.join(dir, 'lopsided');
    await writeSyntheticFolder(data, { classes: 2, perClass: 10, seed: 2, minSide: 12, maxSide: 16 });
    const b = path.join(data, 'class_01');
    for (const name of (await readdir(b)).sort().slice(1)) await rm(path.join(b, name));
    const config = {
      ...DEFAULT_CONFIG,
      data,
      arms: ['baseline'],
      seeds: [1],
      epochs: 1,
      size: 8,
      batchSize: 4,
      backend: 'wasm' as const,
      out: path.join(dir, 'o2'),
    };
    await expect(prepareAblation(config)).rejects.toThrow(
      /the validation split of .* holds only class 'class_00' \(of 2\): accuracy on it means nothing/,
    );
  });

  it('--jobs 64 for 2 runs starts 2 processes, and says so', async () => {
    const data = path.join(dir, 'two');
    await writeSyntheticFolder(data, { classes: 2, perClass: 6, seed: 3, minSide: 12, maxSide: 16 });
    const r = await runCli([
      'ablate',
      '--data',
      data,
      '--out',
      path.join(dir, 'o3'),
      '--arms',
      'baseline',
      '--seeds',
      '2',
      '--epochs',
      '1',
      '--size',
      '8',
      '--batch',
      '4',
      '--backend',
      'wasm',
      '--jobs',
      '64',
      '--no-report',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--jobs 64: 2 run(s) planned, so 2 process(es)');
  }, 120_000);
});

describe('a full disk', () => {
  it('a failed write names the file being written (ENOSPC carries no path), and counts as an input problem (exit 2)', async () => {
    const { namingFile } = await import('../../src/experiment/store/atomic.js');
    const { isInputProblem } = await import('../../src/experiment/errors.js');
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    const named = namingFile(enospc, '/store/runs/c0ffee00/baseline-s1.json') as Error;
    expect(named.message).toBe("cannot write '/store/runs/c0ffee00/baseline-s1.json': no space left on the device (ENOSPC)");
    expect(isInputProblem(named)).toBe(true);
  });
});

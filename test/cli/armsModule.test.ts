/**
 * User arms from a module (--arms-module): the parent, each --jobs worker and each --shard task
 * import the module themselves, so a user arm trains everywhere a built-in one does, with the same
 * numbers as one process training it alone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadArmsModule } from '../../src/experiment/plan/armsModule.js';
import type { ResultsFile, RunRecord } from '../../src/experiment/store/results.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';
import { repo, runCli } from './helpers.js';

const armsModule = path.join(repo, 'examples/arms.ts');

/** What a run computed (not when, nor how long it took), by arm and seed. */
const numbers = (runs: readonly RunRecord[]): Record<string, unknown> =>
  Object.fromEntries(
    runs.map((r) => [
      `${r.arm} ${r.seed}`,
      {
        key: r.key,
        epochs: r.epochs.map(({ loss, accuracy, valLoss, valAccuracy }) => ({ loss, accuracy, valLoss, valAccuracy })),
        test: r.test,
        mixing: r.mixing,
      },
    ]),
  );

const results = async (out: string): Promise<ResultsFile> =>
  JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as ResultsFile;

describe('--arms-module', () => {
  it('loads every arm a module exports, and refuses a module that exports none', async () => {
    expect((await loadArmsModule(armsModule)).map((a) => a.name)).toEqual(['cutmix-half']);
    const empty = path.join(await tempDir(), 'none.ts');
    await writeFile(empty, 'export const answer = 42;\n');
    await expect(loadArmsModule(empty)).rejects.toThrow(/exports no arm/);
  });

  it("'mixstream arms --arms-module' lists the module's arms after the built-in ones", async () => {
    const r = await runCli(['arms', '--arms-module', armsModule]);
    expect(r.code, r.stderr).toBe(0);
    const names = [...r.stdout.matchAll(/^([\w.-]+): /gm)].map((m) => m[1]);
    expect(names.at(-1)).toBe('cutmix-half');
    expect(names).toContain('baseline');
  });

  it('trains a user arm with --jobs 2 and in two --shard tasks merged by report, with the numbers of --jobs 1', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, { classes: 2, perClass: 8, seed: 4, minSide: 10, maxSide: 16 });
    const flags = ['--data', data, '--arms-module', armsModule, '--arms', 'cutmix-half,baseline', '--seeds', '2', '--epochs', '2'];
    const tiny = [...flags, '--size', '8', '--batch', '4', '--backend', 'wasm', '--quiet', '--no-report'];
    const ablate = async (out: string, ...more: string[]): Promise<void> => {
      const r = await runCli(['ablate', ...tiny, '--out', path.join(dir, out), ...more]);
      expect(r.code, r.stderr).toBe(0);
    };
    await ablate('one', '--jobs', '1');
    await ablate('two', '--jobs', '2');
    await ablate('sharded', '--jobs', '1', '--shard', '0/2');
    await ablate('sharded', '--jobs', '1', '--shard', '1/2');
    const report = await runCli(['report', path.join(dir, 'sharded'), '--no-pngs', '--arms-module', armsModule]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/4 of 4 planned run\(s\) in the store/);

    const one = await results(path.join(dir, 'one'));
    expect(one.runs.map((r) => `${r.arm} ${r.seed}`).sort()).toEqual(['baseline 1', 'baseline 2', 'cutmix-half 1', 'cutmix-half 2']);
    for (const other of ['two', 'sharded']) {
      const r = await results(path.join(dir, other));
      expect(r.configHash).toBe(one.configHash);
      expect(numbers(r.runs)).toEqual(numbers(one.runs));
      expect(r.summary).toEqual(one.summary);
    }
    // The report drew the user arm's sample grid from the module too.
    const html = await readFile(path.join(dir, 'sharded', 'report.html'), 'utf8');
    expect([...html.matchAll(/<figure class="grid" data-arm="([^"]+)"/g)].map((m) => m[1])).toContain('cutmix-half');
  }, 300_000);
});

/**
 * Partial results say so (issue 23, item 6): a report written while other shards' runs are missing
 * is marked partial with the runs it lacks (report.html and the terminal), and `mixstream report`
 * prints the comparison table as `ablate` does, removing the temp files a dead writer left.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';
import { runCli, twoByTwo, TWO_BY_TWO_DATA } from './helpers.js';

describe('partial results', () => {
  it('one shard of two: its report and `mixstream report` say partial, list what is missing, and print the table', async () => {
    const dir = await tempDir('mixstream-partial-');
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, TWO_BY_TWO_DATA);
    const out = path.join(dir, 'out');
    const shard = await runCli(['ablate', ...twoByTwo(data), '--out', out, '--jobs', '1', '--shard', '0/2']);
    expect(shard.stderr).toBe('');
    expect(shard.code).toBe(0);
    expect(shard.stdout).toMatch(
      /partial: 2 planned run\(s\) missing \((baseline|cutmix) seed \d, (baseline|cutmix) seed \d\): other shards still running/,
    );
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/id="partial">partial: 2 planned run\(s\) missing/);

    // A worker killed while writing the view left its temp file: report removes it and says so.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const temp = `.results.json.tmp-${os.hostname()}-${dead}-0a1b2c3d`;
    await writeFile(path.join(out, temp), '{"partial');
    const report = await runCli(['report', out, '--no-pngs']);
    expect(report.stdout).toContain(`removed a stale temp file ${temp}`);
    expect(existsSync(path.join(out, temp))).toBe(false);
    expect(report.stderr).toBe('');
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/partial: 2 planned run\(s\) missing/);
    expect(report.stdout).toMatch(
      /(Final validation accuracy|Test accuracy \(headline\), final validation and train accuracy) \(mean ± std over 2 seed\(s\), 1 epochs, wasm\):\n {2}baseline +(test +)?\d/,
    );
    expect(report.stdout).toMatch(/\n {2}cutmix +(test +)?\d/);
  }, 180_000);
});

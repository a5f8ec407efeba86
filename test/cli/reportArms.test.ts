/**
 * `mixstream report` and `ablate` look arms up in the same built-in list: a report rebuilt from the
 * store shows the sample grid of every arm trained, the recipe arms (label-smoothing, ...) included.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { rebuildReport } from '../../src/cli/report.js';
import { builtinArms } from '../../src/experiment/plan/builtinArms.js';
import { runAblation } from '../../src/experiment/run/runAblation.js';
import { tinyAblation } from '../experiment/helpers.js';

describe('mixstream report', () => {
  it('shows the sample grid of every arm trained, recipe arms included', async () => {
    const { config } = await tinyAblation(5);
    const arms = ['baseline', 'label-smoothing', 'cutmix-sample'];
    expect(arms.every((a) => builtinArms().has(a))).toBe(true);
    await runAblation({ ...config, arms, epochs: 1 });
    const rebuilt = await rebuildReport(config.out, { pngs: false });
    const html = await readFile(rebuilt.report.html, 'utf8');
    const grids = [...html.matchAll(/<figure class="grid" data-arm="([^"]+)"/g)].map((m) => m[1]);
    expect(grids).toEqual(arms);
  }, 120_000);
});

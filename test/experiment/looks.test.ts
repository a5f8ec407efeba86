/**
 * Looks at a config are recorded by each finished ablate (and each report), and a comparison whose
 * seeds grew after one says so and is tested sequentially.
 */
import { describe, expect, it } from 'vitest';
import { runAblation } from '../../src/experiment/run/runAblation.js';
import { readLooks } from '../../src/experiment/store/looks.js';
import { tinyAblation } from './helpers.js';

describe('looks', () => {
  it('a seed added after a finished ablate is flagged in the next one, whose test is sequential', async () => {
    const { config } = await tinyAblation(5);
    const base = { ...config, arms: ['baseline', 'augment'], epochs: 1, testSplit: 0.25 };
    const first = await runAblation({ ...base, seeds: [1, 2] });
    const c1 = first.results.headline?.contrasts[0];
    expect(c1?.sequential.method).toBe('fixed');
    expect(c1?.notes.join(' ')).not.toMatch(/after an earlier look/);
    expect((await readLooks(base.out, first.results.configHash)).map((l) => l.seeds)).toEqual([[1, 2]]);
    const second = await runAblation({ ...base, seeds: [1, 2, 3] });
    const c2 = second.results.headline?.contrasts[0];
    expect(c2?.notes.join(' ')).toMatch(/seed 3 was added after an earlier look/);
    expect(c2?.sequential.method).toBe('e-process');
    expect((await readLooks(base.out, second.results.configHash)).map((l) => l.seeds)).toEqual([
      [1, 2],
      [1, 2, 3],
    ]);
  }, 120_000);
});

/**
 * Prestarted workers (pool.ts): the CLI forks them before it loads tfjs; the next pool takes them
 * over, and those no pool took exit when released.
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/experiment/plan/config.js';
import { prestartWorkers, releaseSpareWorkers, WorkerPool } from '../../src/experiment/run/pool.js';
import { prepareAblation } from '../../src/experiment/train/prepare.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { tempDir } from '../helpers.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('prestarted workers', () => {
  it('are taken over by the next pool, in order, and trained on; the rest exit when released', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, { classes: 2, perClass: 6, seed: 2, minSide: 12, maxSide: 16 });
    const config = {
      ...DEFAULT_CONFIG,
      data,
      arms: ['baseline'],
      seeds: [1],
      epochs: 1,
      size: 8,
      batchSize: 4,
      backend: 'wasm' as const,
      out: path.join(dir, 'out'),
    };
    await mkdir((await prepareAblation(config)).dir, { recursive: true }); // the parent's part: the run folder
    const [first, second, third] = prestartWorkers(3);
    const pool = new WorkerPool(2, { config, prefetch: 2, threads: 1, keepCheckpoints: false });
    try {
      pool.startAll();
      expect(pool.pids()).toEqual([first, second]);
      // Resolves on the released worker's exit event, however long a loaded machine takes.
      await releaseSpareWorkers();
      expect(alive(third!)).toBe(false);
      // The taken-over worker got its init and trains.
      const outcome = await pool.run(0, 'baseline', 1, () => undefined);
      expect(outcome.kind === 'done' ? outcome.record.epochs.length : outcome.kind).toBe(1);
    } finally {
      await pool.close();
    }
    expect(alive(first!) || alive(second!)).toBe(false);
  }, 600_000);
});

describe('the CLI before it trains', () => {
  it('loads no tfjs with its own modules, so its --jobs workers load theirs meanwhile', () => {
    const code = [
      "import { createRequire } from 'node:module';",
      `await import(${JSON.stringify(path.resolve('src/cli/main.ts'))});`,
      'const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes("@tensorflow")).length;',
      'const before = loaded();',
      `await import(${JSON.stringify(path.resolve('src/experiment/run/scheduler.ts'))});`,
      'console.log(JSON.stringify([before, loaded()]));',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [before, after] = JSON.parse(r.stdout) as [number, number];
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0); // the check sees tfjs when it is loaded
  });
});

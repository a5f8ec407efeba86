/**
 * `--jobs`: `npm start`'s default ablation as it is (DEFAULT_CONFIG: arms, seeds, epochs, built-in
 * data, simple-cnn, wasm), timed end to end as a user runs it (process start included) with the
 * default jobs (auto: one run per core) against --jobs 1, in the same bench run, each into a fresh
 * output folder. Target: >= 1.6x on 2 cores. Cut short (fewer epochs) the fixed cost of each worker
 * process weighs more and the ratio drops (1.27x at 3 epochs here), so the bench times the real
 * defaults: a few minutes a timing; MIXSTREAM_BENCH_ROUNDS=2 repeats both in alternating order.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_CONFIG } from '../src/experiment/plan/config.js';
import { writeSyntheticFolder } from '../src/sources/synthetic.js';
import type { Figure } from './report.js';
import { sized, TINY } from './size.js';

const EPOCHS = sized(DEFAULT_CONFIG.epochs, 1);
/** At the tiny size: 2 runs of 1 epoch at 8 px on a small generated folder (made in benchJobs). */
const TINY_FLAGS = ['--arms', 'baseline', '--seeds', '2', '--size', '8', '--batch', '4', '--backend', 'wasm'];
let tinyData: string | undefined;
const ROUNDS = Math.max(1, Number(process.env.MIXSTREAM_BENCH_ROUNDS ?? 1) || 1);

/** The CLI beside this file: compiled under `npm run bench`, the sources under tsx. */
function cli(): string[] {
  const js = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  if (existsSync(js)) return [js];
  return ['--import', 'tsx', fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))];
}

async function timed(jobs: string[]): Promise<number> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'mixstream-bench-jobs-'));
  try {
    const start = performance.now();
    await promisify(execFile)(
      process.execPath,
      [
        ...cli(),
        'ablate',
        '--epochs',
        String(EPOCHS),
        '--no-report',
        '--quiet',
        '--out',
        out,
        ...(tinyData === undefined ? [] : ['--data', tinyData, ...TINY_FLAGS]),
        ...jobs,
      ],
      { maxBuffer: 1 << 22 },
    );
    return (performance.now() - start) / 1000;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export async function benchJobs(emit: (f: Figure) => void): Promise<void> {
  if (TINY) {
    tinyData = await mkdtemp(path.join(os.tmpdir(), 'mixstream-bench-jobs-data-'));
    await writeSyntheticFolder(tinyData, { classes: 2, perClass: 6, seed: 1, minSide: 10, maxSide: 16 });
  } else await timed(['--jobs', '1', '--arms', 'baseline', '--seeds', '1', '--epochs', '1']); // generates the built-in data set once, outside the timings
  // Rounds in alternating order, the faster of each kept: on a shared machine the other load
  // comes and goes, and the minimum is the least disturbed measurement.
  const load = os.loadavg()[0] ?? 0;
  const one: number[] = [];
  const auto: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      one.push(await timed(['--jobs', '1']));
      auto.push(await timed([]));
    } else {
      auto.push(await timed([]));
      one.push(await timed(['--jobs', '1']));
    }
  }
  const cores = os.availableParallelism();
  const best = (xs: number[]): number => Math.min(...xs);
  const ratio = best(one) / best(auto);
  emit({
    name: `ablate default jobs (auto = ${cores}) vs --jobs 1: ${TINY ? 'the tiny size (1 arm x 2 seeds x 1 epoch)' : `npm start's defaults (${DEFAULT_CONFIG.arms.length} arms x ${DEFAULT_CONFIG.seeds.length} seeds x ${EPOCHS} epochs)`}, wall time end to end, best of ${ROUNDS}`,
    value: best(auto),
    unit: 's',
    against: { name: 'ablate --jobs 1, same config', value: best(one), unit: 's' },
    ratio,
    target: '>= 1.6x faster on 2 cores (ratio = jobs 1 time / default time)',
    ...(cores >= 2 ? { pass: ratio >= 1.6 } : {}),
    cores,
    runs: { jobs1: one, auto },
    loadavg1AtStart: load,
  });
  if (tinyData !== undefined) await rm(tinyData, { recursive: true, force: true });
}

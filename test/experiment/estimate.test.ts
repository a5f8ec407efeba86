/**
 * The plan's estimate (run/estimate.ts): a tiny `ablate --data` prints the estimate lines, well
 * formed (no timing is asserted: the figures are whatever this machine measured), beside the
 * decoded-images line; and the arithmetic that turns a warm-up into run and plan times.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSeconds, wallSeconds, duration } from '../../src/experiment/run/estimate.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { runCli } from '../cli/helpers.js';
import { tempDir } from '../helpers.js';

const figure = String.raw`(\d+ s|\d+ min|\d+ h \d+ min|\d+\.\d days)`;

describe('ablate --data: the plan tells its time before it starts', () => {
  it('prints the estimate per run and in total, and what --jobs, --shard and deploy/ cut it to', async () => {
    const dir = await tempDir('mixstream-estimate-');
    const data = path.join(dir, 'data');
    await writeSyntheticFolder(data, { classes: 3, perClass: 8, seed: 2, minSide: 16, maxSide: 30 });
    const r = await runCli([
      'ablate',
      '--data',
      data,
      '--arms',
      'baseline,cutmix',
      '--seeds',
      '1',
      '--epochs',
      '1',
      '--size',
      '16',
      '--batch',
      '8',
      '--backend',
      'wasm',
      '--jobs',
      '1',
      '--no-report',
      '--out',
      path.join(dir, 'out'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const total = lines.filter((l) => l.startsWith('estimate: 2 runs x '));
    expect(total).toHaveLength(1);
    expect(total[0]).toMatch(
      new RegExp(
        String.raw`^estimate: 2 runs x ${figure} a run = ${figure} on one process, ${figure} with --jobs 1 \(measured here: 2 training steps of simple-cnn at 16 px, batch 8, \d+\.\d\d s a step; validation \d+\.\d\d s a batch; decoding \d+\.\d\d s a batch cold; 1 thread a run, \d+ cores\)$`,
      ),
    );
    const cuts = lines.filter((l) => l.startsWith('estimate: --jobs '));
    expect(cuts).toHaveLength(1);
    expect(cuts[0]).toMatch(
      new RegExp(
        String.raw`^estimate: --jobs \d+ \(one run a core here\): ${figure}; --shard i/4 on 4 machines like this one \(deploy/slurm/submit\.sh 4, or deploy/k8s/ablate-job\.yaml's 4 completions\), --jobs 2 each: ${figure}`,
      ),
    );
    // The estimate comes before the first run starts; the decoded images' line says memo, and the bound.
    expect(lines.findIndex((l) => l.startsWith('estimate: 2 runs'))).toBeLessThan(lines.findIndex((l) => l.startsWith('[1/2]')));
    expect(r.stdout).toMatch(
      /decoded images: memo \(24 images at 16 px = 0 MiB, within the 256 MiB memo\); memory bound [\d,]+ MiB = runtime 320 MiB \+ memo 0 MiB \+ pipeline \d+ MiB \+ model \d+ MiB/,
    );
  }, 120_000);

  it('a run: the first epoch at the slower of decoding and training, validation per epoch; jobs past the cores do not help', () => {
    const w = { steps: 2, stepSeconds: 2, predictSeconds: 1, decodeSeconds: 3 };
    // 2 batches an epoch: epoch 1 at 3 s a batch (decoding), epoch 2 at 2 s; one validation batch an epoch.
    expect(runSeconds(w, { epochs: 2, trainCount: 32, validationCount: 16, batchSize: 16 })).toBe(2 * 3 + 2 * 2 + 2 * 1);
    expect(runSeconds(w, { epochs: 1, trainCount: 16, validationCount: 16, testCount: 20, batchSize: 16 })).toBe(3 + 1 + 2);
    expect(wallSeconds(12, 5, 1, 1, 2)).toBe(60);
    expect(wallSeconds(12, 5, 2, 1, 2)).toBe(36); // 3 rounds
    expect(wallSeconds(12, 5, 4, 1, 2)).toBe(48); // 2 rounds, each twice as slow on 2 cores
    expect([duration(42), duration(600), duration(5400), duration(3 * 86_400)]).toEqual(['42 s', '10 min', '1 h 30 min', '3.0 days']);
  });
});

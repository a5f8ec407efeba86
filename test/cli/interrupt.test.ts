/**
 * Ctrl-C on a piped run is seen at once (issue 23, point 7: "piped progress arrives in bursts: after
 * 'stopping after the current batch' three more epochs printed, so Ctrl-C looked ignored"). The
 * cause was not the pipe: an epoch's line waits for its checkpoint, and the checkpoint writes were
 * queued without bound, so on a disk slower than an epoch the lines fell further behind the
 * training each epoch and a stop flushed them all (train/epochLog.ts). Here stdout and stderr go
 * into one pipe, as with `2>&1 | cat`, the disk is made slow (slowDisk.ts: each fsync 1 s), and
 * SIGINT goes to the whole process group on the third epoch line. After the 'stopping' line each
 * run may print the epoch whose checkpoint was being written and one that ended meanwhile, no more.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { repo } from './helpers.js';

let root = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mixstream-interrupt-'));
  await writeSyntheticFolder(path.join(root, 'data'), { classes: 3, perClass: 8, seed: 4, minSide: 10, maxSide: 16 });
});
afterAll(() => rm(root, { recursive: true, force: true }));

it('--jobs 2 piped (2>&1), Ctrl-C on a slow disk: at most two epoch lines a run after the stopping line, then it stops', async () => {
  const args = ['ablate', '--data', path.join(root, 'data'), '--arms', 'baseline,cutmix', '--seeds', '1', '--epochs', '20'].concat([
    '--size',
    '8',
    '--batch',
    '8',
    '--backend',
    'wasm',
    '--no-report',
    '--jobs',
    '2',
    '--out',
    path.join(root, 'out'),
  ]);
  const cli = [process.execPath, '--import', 'tsx', '--import', './test/cli/slowDisk.ts', 'src/cli/main.ts', ...args];
  // One pipe for both streams, in order, as `2>&1 | cat` gives them.
  const child = spawn('sh', ['-c', 'exec "$@" 2>&1', 'sh', ...cli], { cwd: repo, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const trigger = /epoch 3\/20:/;
  let seen = '';
  let sent = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    seen += d;
    if (!sent && trigger.test(seen)) {
      sent = true;
      process.kill(-child.pid!, 'SIGINT'); // the terminal's Ctrl-C: the whole foreground group
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(sent, seen).toBe(true);
  expect(code, seen).toBe(130);
  const lines = seen.split('\n');
  const stop = lines.findIndex((l) => /interrupted; stopping after the current batch/.test(l));
  expect(stop, seen).toBeGreaterThan(0);
  const after = lines.slice(stop + 1);
  for (const arm of ['baseline', 'cutmix']) {
    const epochs = after.filter((l) => new RegExp(`^  ${arm} seed 1 epoch \\d+/20:`).test(l));
    expect(epochs.length, `${arm} after the stop:\n${after.join('\n')}`).toBeLessThanOrEqual(2);
  }
  expect(after.join('\n')).toMatch(/stopped (baseline|cutmix) seed 1 \(checkpointed after epoch \d+\/20: a rerun resumes there\)/);
}, 120_000);

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SyntheticOptions } from '../../src/sources/synthetic.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Flags that make `ablate --data D --out O` as small as a run gets: one arm, seed and epoch at 8 px, batch 4, on wasm, quiet, no report. */
export const TINY_RUN: readonly string[] =
  '--arms baseline --epochs 1 --seeds 1 --size 8 --batch 4 --backend wasm --no-report --quiet'.split(' ');

/** The data of `twoByTwo`: writeSyntheticFolder's options for 3 classes of 8 small images. */
export const TWO_BY_TWO_DATA: SyntheticOptions = { classes: 3, perClass: 8, seed: 9, minSide: 10, maxSide: 24, noise: 30 };

/** `--data data` and the flags of a small 2 arms x 2 seeds ablation (one epoch at 8 px, batch 8, on wasm) to shard or split; add --out. */
export const twoByTwo = (data: string): string[] => [
  '--data',
  data,
  ...'--arms baseline,cutmix --seeds 2 --epochs 1 --size 8 --batch 8 --backend wasm'.split(' '),
];

export interface Spawned {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Node's arguments that start the CLI: the JavaScript build of the current sources that this test
 * run made (test/globalSetup.ts, test/cliBuild.ts), else the sources through tsx (several CPU-seconds
 * more a process: tsx's loader hooks see every module loaded).
 */
export const CLI: readonly string[] = process.env.MIXSTREAM_TEST_CLI
  ? [process.env.MIXSTREAM_TEST_CLI]
  : ['--import', 'tsx', path.join(repo, 'src/cli/main.ts')];

/** Runs the CLI (CLI above) in the repo with `args`; `onStdout` sees output as it comes. */
export function runCli(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void;
    script?: readonly string[];
  } = {},
): Promise<Spawned> {
  const script = options.script ?? CLI;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...script, ...args], {
      cwd: repo,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      options.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

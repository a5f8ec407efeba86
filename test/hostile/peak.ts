/**
 * The CLI run under GNU time, so a hostile case can assert the peak resident memory of the
 * process (the largest of the processes waited for), not only its exit code and message.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI, repo, runCli, type Spawned } from '../cli/helpers.js';

const TIME = '/usr/bin/time';
let runs = 0;

/** `runCli`, with `peakBytes` the peak RSS when GNU time is installed (Debian's `time` package). */
export async function runCliPeak(args: readonly string[], env: Record<string, string> = {}): Promise<Spawned & { peakBytes?: number }> {
  if (!existsSync(TIME)) return runCli(args, { env });
  const report = path.join(os.tmpdir(), `mixstream-peak-${process.pid}-${runs++}`);
  const r = await new Promise<Spawned>((resolve, reject) => {
    const child = spawn(TIME, ['-f', '%M', '-o', report, process.execPath, ...CLI, ...args], {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const kb = Number((await readFile(report, 'utf8').catch(() => '')).trim().split('\n').pop());
  await rm(report, { force: true });
  return Number.isFinite(kb) && kb > 0 ? { ...r, peakBytes: kb * 1024 } : r;
}

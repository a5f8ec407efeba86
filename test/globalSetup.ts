/**
 * One temporary folder per test run: TMPDIR points into it for every test worker and every child
 * process they spawn (os.tmpdir() reads TMPDIR on each call), and it is removed at the end. So a
 * run leaves nothing in the machine's temp folder, and no test sees what another run (or a killed
 * one) left there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mixstream-test-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}

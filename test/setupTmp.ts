/**
 * Each test file gets a temp folder of its own: TMPDIR points into it (os.tmpdir() reads TMPDIR
 * on each call, and child processes inherit it), and it is removed when the file's tests end.
 * Tests that make temp folders and forget them, or are killed, leave nothing outside the run's
 * folder (test/globalSetup.ts), which the run removes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const dir = mkdtempSync(path.join(os.tmpdir(), 'file-'));
const previous = process.env.TMPDIR;
process.env.TMPDIR = dir;

afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(dir, { recursive: true, force: true });
});

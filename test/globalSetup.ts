/**
 * One temporary folder per test run: TMPDIR points into it for every test worker and every child
 * process they spawn (os.tmpdir() reads TMPDIR on each call), and it is removed at the end. So a
 * run leaves nothing in the machine's temp folder, and no test sees what another run (or a killed
 * one) left there.
 *
 * In it, the CLI built from the current sources as plain JavaScript (test/cliBuild.ts): the tests
 * that spawn the CLI run that (MIXSTREAM_TEST_CLI, see test/cli/helpers.ts), not tsx.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCli } from './cliBuild.js';

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mixstream-test-run-'));
  const previous = { TMPDIR: process.env.TMPDIR, MIXSTREAM_TEST_CLI: process.env.MIXSTREAM_TEST_CLI };
  const teardown = (): void => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.env.TMPDIR = dir;
  try {
    process.env.MIXSTREAM_TEST_CLI = await buildCli(path.join(dir, 'cli'));
  } catch (error) {
    teardown();
    throw error;
  }
  return teardown;
}

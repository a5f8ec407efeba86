import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Mesa's shader cache in a folder that outlives a test run (TMPDIR is the run's own, see
// test/globalSetup.ts): WebGPU tests on lavapipe compile their shaders once, 25-57 s cold,
// ~2 s warm, and every test file and CLI child shares them.
process.env.MESA_SHADER_CACHE_DIR ??= path.resolve('node_modules/.cache/mixstream-mesa-shaders');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Limits that catch a hang, not a slow machine: on 2 cores under load (load average 15-30)
    // a test takes 5-10 times as long as on a quiet one, and every wait in a test is on an event.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two test files at once, whatever the core count (vitest's default is cores - 1: one file at a
    // time on 2 cores). Many files mostly wait on child processes, Chromium, Slurm or lavapipe, and
    // every test holds under load (the CI's stress-ng pass), so a second file fills the idle core.
    maxWorkers: 2,
    // A temp folder of the run's own, and one of each test file's own inside it (TMPDIR), both
    // removed at the end: see test/globalSetup.ts and test/setupTmp.ts.
    globalSetup: ['test/globalSetup.ts'],
    setupFiles: ['test/setupTmp.ts'],
  },
});

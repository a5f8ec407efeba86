import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A temp folder of the run's own (TMPDIR), removed at the end: see test/globalSetup.ts.
    globalSetup: ['test/globalSetup.ts'],
  },
});

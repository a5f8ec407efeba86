import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A temp folder of the run's own, and one of each test file's own inside it (TMPDIR), both
    // removed at the end: see test/globalSetup.ts and test/setupTmp.ts.
    globalSetup: ['test/globalSetup.ts'],
    setupFiles: ['test/setupTmp.ts'],
  },
});

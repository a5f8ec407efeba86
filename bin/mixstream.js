#!/usr/bin/env node
// The `mixstream` command runs the compiled JavaScript in dist/ (npm builds it: the `prepare`
// script runs at `npm ci` in a clone and at `npm pack`; `npm run build` by hand).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error(`mixstream: ${main.pathname} is missing: build it with \`npm run build\` (npm ci runs it)`);
  process.exit(1);
}
const { runCli } = await import(main.href);
await runCli();

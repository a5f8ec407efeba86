#!/usr/bin/env node
// The `mixstream` command: runs src/cli/main.ts through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli();

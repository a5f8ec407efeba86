import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('an abandoned iterator', () => {
  it('is unsubscribed once garbage-collected, and a source waiting for credit ends', async () => {
    const script = path.join(import.meta.dirname, 'abandoned.script.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', script]);
    expect(JSON.parse(stdout.trim())).toEqual({ tornDown: true, generatorClosed: true });
  });
});

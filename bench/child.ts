/**
 * Runs a bench module's own "run alone" mode in a fresh Node process (its own heap, allocator and
 * peak RSS), with the same runtime as this one: compiled JavaScript under `npm run bench`, tsx
 * from sources. Returns what it printed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export async function runInChild(
  module: string,
  args: string[],
  options: { nodeFlags?: string[]; env?: Record<string, string> } = {},
): Promise<string> {
  const runtime = module.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const { stdout } = await promisify(execFile)(process.execPath, [...(options.nodeFlags ?? []), ...runtime, module, ...args], {
    env: { ...process.env, ...options.env },
    maxBuffer: 1 << 20,
  });
  return stdout.trim();
}

/**
 * Every `npm run bench` section runs, at the tiny size (MIXSTREAM_BENCH_TINY=1: seconds each), and
 * prints only well-formed figure lines: JSON with a name, a finite value and a unit, measured
 * against a peer or a limit in the same run, or saying why the peer is missing. Figures are not
 * checked: a test does not time things.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SECTION_NAMES } from '../bench/sections.js';
import { tempDir } from './helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The bench from the test run's JavaScript build of the sources (test/cliBuild.ts), as the CLI tests run the CLI; tsx without one. */
const BENCH: readonly string[] = process.env.MIXSTREAM_TEST_CLI
  ? [path.join(path.dirname(process.env.MIXSTREAM_TEST_CLI), '..', '..', 'bench', 'index.js')]
  : ['--import', 'tsx', 'bench/index.ts'];

function bench(section: string, work: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...BENCH, section], {
      cwd: repo,
      env: { ...process.env, MIXSTREAM_BENCH_TINY: '1', PEER_WORK: work },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

describe('npm run bench, every section at the tiny size', () => {
  it.each(SECTION_NAMES)(
    '%s prints well-formed figure lines',
    async (section) => {
      const r = await bench(section, await tempDir());
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const f = JSON.parse(line) as Record<string, unknown>;
        expect(typeof f.name === 'string' && f.name !== '', line).toBe(true);
        expect(finite(f.value), line).toBe(true);
        expect(typeof f.unit === 'string' && f.unit !== '', line).toBe(true);
        const against = f.against as Record<string, unknown> | undefined;
        if (against === undefined) expect(typeof f.peer === 'string' && f.peer !== '', `no peer or limit, nor why: ${line}`).toBe(true);
        else expect([typeof against.name, finite(against.value), typeof against.unit], line).toEqual(['string', true, 'string']);
      }
    },
    120_000,
  );
});

/**
 * The shipped scale-out files, wired as they will run: the Kubernetes Indexed Job's container
 * command and the Slurm array script are executed by a real shell with the index variables the
 * engines set, against a stub `mixstream` that records its arguments; the arguments must parse to
 * the right shard, and the shards of all indices must cover the plan once.
 */
import { execFileSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.js';
import { shardShare } from '../../src/experiment/plan/planRuns.js';
import { tempDir } from '../helpers.js';
import { repo } from './helpers.js';

/** A stub command that prints its arguments as JSON. */
async function stub(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\nexec "${process.execPath}" -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@"\n`);
  await chmod(file, 0o755);
  return file;
}

const env = (file: string, name: string): string | undefined => new RegExp(`- name: ${name}\\s+value: "([^"]*)"`).exec(file)?.[1];

/** Every plan index appears in exactly one share. */
function coversOnce(count: number, shards: ReadonlyArray<{ index: number; count: number }>): void {
  const plan = Array.from({ length: 13 }, (_, i) => i);
  const seen = shards.flatMap((s) => shardShare(plan, s)).sort((a, b) => a - b);
  expect(shards.every((s) => s.count === count)).toBe(true);
  expect(seen).toEqual(plan);
}

describe('deploy/k8s/ablate-job.yaml', () => {
  it('is an Indexed Job whose pods run ablate --shard JOB_COMPLETION_INDEX/completions, covering the plan once', async () => {
    const text = await readFile(path.join(repo, 'deploy/k8s/ablate-job.yaml'), 'utf8');
    expect(text).toMatch(/^kind: Job$/m);
    expect(text).toMatch(/^\s+completionMode: Indexed$/m);
    const completions = Number(/^\s+completions: (\d+)$/m.exec(text)?.[1]);
    const parallelism = Number(/^\s+parallelism: (\d+)$/m.exec(text)?.[1]);
    expect(completions).toBeGreaterThan(0);
    expect(parallelism).toBeLessThanOrEqual(completions);
    expect(Number(env(text, 'MIXSTREAM_SHARDS'))).toBe(completions);
    expect(/command: \["\/bin\/sh", "-c"\]/.test(text)).toBe(true);
    const script = /args:\n\s+- (.+)\n/.exec(text)?.[1];
    expect(script).toBeDefined();
    const dir = await tempDir();
    const mixstream = await stub(dir, 'mixstream');
    const shards = [];
    for (let i = 0; i < completions; i++) {
      // The image's binary, /usr/local/bin/mixstream (deploy/Dockerfile), is the stub here.
      const out = execFileSync('/bin/sh', ['-c', script!.replace('/usr/local/bin/mixstream', mixstream)], {
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          JOB_COMPLETION_INDEX: String(i),
          MIXSTREAM_SHARDS: env(text, 'MIXSTREAM_SHARDS')!,
          MIXSTREAM_JOBS: env(text, 'MIXSTREAM_JOBS')!,
        },
        encoding: 'utf8',
      });
      const argv = JSON.parse(out) as string[];
      const c = parseCommand(argv);
      if (c.kind !== 'ablate') throw new Error(`expected ablate, got ${c.kind}`);
      expect(c.config.out).toBe('/results');
      expect(c.jobs).toBe(Number(env(text, 'MIXSTREAM_JOBS')));
      expect(c.shard).toEqual({ index: i, count: completions });
      shards.push(c.shard!);
    }
    coversOnce(completions, shards);
    const report = await readFile(path.join(repo, 'deploy/k8s/report-job.yaml'), 'utf8');
    expect(report).toMatch(/command: \["\/usr\/local\/bin\/mixstream", "report", "\/results"\]/);
    expect(report).toMatch(/claimName: mixstream-results/);
    expect(text).toMatch(/claimName: mixstream-results/);
  });
});

describe('deploy/slurm/ablate.sbatch', () => {
  it('maps SLURM_ARRAY_TASK_ID (from any start) and SLURM_ARRAY_TASK_COUNT to --shard, CPUs to --jobs', async () => {
    const dir = await tempDir();
    const mixstream = await stub(dir, 'mixstream');
    const shards = [];
    for (let id = 4; id < 7; id++) {
      const out = execFileSync('/bin/bash', [path.join(repo, 'deploy/slurm/ablate.sbatch'), '--epochs', '3'], {
        env: {
          PATH: process.env.PATH ?? '',
          SLURM_ARRAY_TASK_ID: String(id),
          SLURM_ARRAY_TASK_MIN: '4',
          SLURM_ARRAY_TASK_COUNT: '3',
          SLURM_CPUS_PER_TASK: '2',
          MIXSTREAM: mixstream,
          MIXSTREAM_OUT: '/shared/out',
        },
        encoding: 'utf8',
      });
      const c = parseCommand(JSON.parse(out) as string[]);
      if (c.kind !== 'ablate') throw new Error(`expected ablate, got ${c.kind}`);
      expect(c.shard).toEqual({ index: id - 4, count: 3 });
      expect(c.jobs).toBe(2);
      expect(c.config.out).toBe('/shared/out');
      expect(c.config.epochs).toBe(3);
      shards.push(c.shard!);
    }
    coversOnce(3, shards);
  });
});

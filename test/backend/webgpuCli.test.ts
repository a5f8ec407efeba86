/**
 * `mixstream ablate --backend webgpu` end to end (bin/mixstream.js, the built CLI), on whatever
 * adapter is here (lavapipe in CI): --jobs shares the one GPU by training one run at a time, and
 * results.json names the adapter. Without an adapter, or without the optional packages: one line,
 * exit 2, nothing trained. And 'auto' never picks a software adapter.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobsOn } from '../../src/backend/choices.js';
import { applyGpuAdapterFlag, describeAdapter, isSoftwareAdapter, parseGpuAdapter, resolveBackend } from '../../src/backend/index.js';
import type { ResultsFile } from '../../src/experiment/store/results.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { repo, runCli } from '../cli/helpers.js';
import { webGpuAdapterHere } from './webgpuAdapter.js';

let root = '';
let data = '';
let here = false;
const ablate = (out: string, extra: readonly string[]): string[] => [
  'ablate',
  '--data',
  data,
  '--arms',
  'baseline,cutmix',
  '--seeds',
  '2',
  '--epochs',
  '2',
  '--size',
  '16',
  '--batch',
  '8',
  '--backend',
  'webgpu',
  '--out',
  out,
  ...extra,
];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mixstream-webgpu-'));
  data = path.join(root, 'data');
  await writeSyntheticFolder(data, { classes: 3, perClass: 12, seed: 5, minSide: 16, maxSide: 24 });
  here = await webGpuAdapterHere();
});

describe('adapters, by name', () => {
  it('parses the pin: power preferences, else a name Dawn matches', () => {
    expect(parseGpuAdapter(undefined)).toEqual({ kind: 'power', powerPreference: 'high-performance' });
    expect(parseGpuAdapter(' Low-Power ')).toEqual({ kind: 'power', powerPreference: 'low-power' });
    expect(parseGpuAdapter('NVIDIA GeForce RTX 4090')).toEqual({ kind: 'name', name: 'NVIDIA GeForce RTX 4090' });
  });

  it('--gpu-adapter sets the variable this process and its workers read; an empty value is refused', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(applyGpuAdapterFlag(' NVIDIA ', env)).toEqual({ kind: 'name', name: 'NVIDIA' });
    expect(env.MIXSTREAM_GPU_ADAPTER).toBe('NVIDIA');
    expect(() => applyGpuAdapterFlag(' ', env)).toThrow(/--gpu-adapter needs a value/);
  });

  it('knows a software adapter by its flag or its names, a GPU by neither', () => {
    const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' };
    expect(isSoftwareAdapter(lavapipe)).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' })).toBe(true);
    const nvidia = { vendor: 'nvidia', architecture: 'ada', device: '', description: 'NVIDIA GeForce RTX 4090' };
    expect(isSoftwareAdapter(nvidia)).toBe(false);
    expect(isSoftwareAdapter({ ...nvidia, fallback: true })).toBe(true);
    expect(describeAdapter({ ...nvidia, fallback: false })).toBe('nvidia ada (NVIDIA GeForce RTX 4090), hardware adapter');
  });

  it('one run at a time on webgpu, with a note; other backends keep their jobs', () => {
    expect(jobsOn('webgpu', 3)).toEqual({ jobs: 1, note: expect.stringMatching(/^--jobs 3 on webgpu: 1 run at a time/) });
    expect(jobsOn('webgpu', 1)).toEqual({ jobs: 1 });
    expect(jobsOn('wasm', 3)).toEqual({ jobs: 3 });
  });
});

describe('without the optional packages', () => {
  // A name that is not installed, looked up as the real ones are (require.resolve).
  const absent = { dawn: 'mixstream-test-absent-webgpu', backend: '@tensorflow/tfjs-backend-webgpu' };

  it('--backend webgpu fails in one line naming the package and the install command', async () => {
    const error = await resolveBackend('webgpu', { env: {}, webgpuPackages: absent }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /^backend 'webgpu' \(asked for\) cannot be used: mixstream-test-absent-webgpu is not installed \(optional dependencies: npm install webgpu@0\.6\.2 @tensorflow\/tfjs-backend-webgpu@4\.22\.0\)$/,
    );
    expect(error?.message).not.toContain('\n');
  });

  it('auto moves on, saying why', async () => {
    const r = await resolveBackend('auto', { env: {}, webgpuPackages: absent });
    expect(r.skipped.find((s) => s.name === 'webgpu')?.why).toMatch(/mixstream-test-absent-webgpu is not installed/);
    expect(r.name).not.toBe('webgpu');
    await tf.setBackend('cpu');
  });
});

describe('mixstream ablate --backend webgpu', () => {
  it('with no adapter (the Vulkan driver hidden): one line, exit 2, nothing trained', { timeout: 120_000 }, async () => {
    const out = path.join(root, 'no-adapter');
    const r = await runCli(ablate(out, ['--jobs', '1']), { script: ['bin/mixstream.js'], env: { VK_ICD_FILENAMES: '/nonexistent' } });
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/webgpu.*no WebGPU high-performance adapter: .*install a Vulkan driver/);
    expect(existsSync(path.join(out, 'results.json'))).toBe(false);
    expect(r.stdout).not.toMatch(/epoch 1\/|1 run at a time/);
  });

  it('pins the adapter by name; a name Dawn does not list fails in one line listing those it does', { timeout: 120_000 }, async (ctx) => {
    if (!here) return ctx.skip();
    const any = await resolveBackend('webgpu', { env: {} });
    const name = (any.adapter?.description ?? '').split(':')[0] ?? '';
    await tf.setBackend('cpu');
    const pinned = await resolveBackend('webgpu', { env: { MIXSTREAM_GPU_ADAPTER: name } });
    expect(pinned.adapter?.description).toBe(any.adapter?.description);
    await tf.setBackend('cpu');
    const error = await resolveBackend('webgpu', { env: {}, gpuAdapter: 'mixstream-no-such-gpu' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/no WebGPU adapter named 'mixstream-no-such-gpu': /);
    expect(error?.message).toMatch(/Available adapters: \* backend: '\w+', name: '.+'/);
    expect(error?.message).not.toContain('\n');
  });

  it('a script that trained on webgpu exits by itself, with no XDG_RUNTIME_DIR and no release', { timeout: 120_000 }, async (ctx) => {
    if (!here) return ctx.skip();
    const script = [
      "const { resolveBackend } = await import('./src/backend/index.ts');",
      "const tf = (await import('./src/backend/tfjs.js')).default;",
      "const r = await resolveBackend('webgpu', { env: {} });",
      'const x = tf.randomNormal([32, 32]);',
      'const v = await tf.matMul(x, x).data();',
      'console.log(r.name, Number.isFinite(v[0]), process.env.XDG_RUNTIME_DIR);',
    ].join('\n');
    const env = { ...process.env };
    delete env.XDG_RUNTIME_DIR;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, env });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    // Resolves when the process ends by itself: a Dawn handle that kept it alive would time the test out.
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^webgpu true \/.*mixstream-runtime-/);
  });

  it('auto on a software adapter picks wasm and says why', { timeout: 120_000 }, async (ctx) => {
    if (!here) return ctx.skip();
    const r = await resolveBackend('auto', { env: {} });
    const webgpu = r.skipped.find((s) => s.name === 'webgpu');
    // On a machine with a GPU, auto takes it; on lavapipe (CI, here) it must not.
    if (r.name === 'webgpu') expect(r.adapter?.fallback).toBe(false);
    else expect(webgpu?.why).toMatch(/software adapter.*wasm trains faster/);
    await tf.setBackend('cpu');
  });

  it(
    'trains baseline and cutmix x 2 seeds x 2 epochs; --jobs 2 runs one at a time; results.json names the adapter',
    { timeout: 600_000 },
    async (ctx) => {
      if (!here) return ctx.skip();
      const out = path.join(root, 'run');
      const r = await runCli(ablate(out, ['--jobs', '2', '--keep-checkpoints']), { script: ['bin/mixstream.js'] });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/--jobs 2 on webgpu: 1 run at a time \(one process per GPU/);
      expect(r.stdout).toMatch(/backend webgpu on .*adapter \(asked for\).*; 1 at once/);
      expect(r.stdout).toMatch(/\[4\/4\] cutmix seed 2/);
      const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as ResultsFile;
      expect(results.backend.name).toBe('webgpu');
      expect(results.backend.tfBackend).toBe('webgpu');
      const adapter = results.backend.adapter;
      expect(adapter?.description).toBeTruthy();
      expect(typeof adapter?.fallback).toBe('boolean');
      expect(r.stdout).toContain(adapter?.description ?? 'no adapter');
      expect(await readFile(path.join(out, 'report.html'), 'utf8')).toMatch(/webgpu on [^<]*llvmpipe|webgpu on [^<]*hardware adapter/);
      expect(results.runs.map((x) => `${x.arm}/${x.seed}`)).toEqual(['baseline/1', 'baseline/2', 'cutmix/1', 'cutmix/2']);
      for (const run of results.runs) {
        expect(run.backend).toBe('webgpu');
        expect(run.epochs).toHaveLength(2);
        for (const e of run.epochs) expect(Number.isFinite(e.loss) && Number.isFinite(e.valAccuracy)).toBe(true);
      }
      // Each run's checkpoint was taken on webgpu (its tensors read with data(): dataSync throws there).
      const runsDir = path.join(out, 'runs');
      const files = (await Promise.all((await readdir(runsDir)).map((d) => readdir(path.join(runsDir, d))))).flat();
      expect(files.filter((f) => f.endsWith('.checkpoint')).length).toBe(4);
    },
  );
});

import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBackendChoice, resolveBackend } from '../../src/backend/index.js';

/** An importer that behaves as if the named packages were absent, as npm leaves optional peers. */
const missing = (specifier: string): Promise<unknown> => {
  if (specifier.startsWith('@tensorflow/tfjs-node')) {
    return Promise.reject(
      Object.assign(new Error(`Cannot find package '${specifier}' imported from here`), { code: 'ERR_MODULE_NOT_FOUND' }),
    );
  }
  return import(specifier);
};

/** The WebGPU packages looked up under a name that is not installed (they are optional dependencies). */
const noWebGpu = { dawn: 'mixstream-test-absent-webgpu', backend: 'mixstream-test-absent-tfjs-backend-webgpu' };

afterEach(async () => {
  await tf.setBackend('cpu');
  if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
});

describe('resolveBackend', () => {
  it('auto: skips absent libtensorflow and WebGPU packages, says why, and picks wasm with its training kernels', async () => {
    const r = await resolveBackend('auto', { importModule: missing, env: {}, webgpuPackages: noWebGpu });
    expect(r.name).toBe('wasm');
    expect(r.tfBackend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(r.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'webgpu']);
    expect(r.skipped[0]?.why).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(r.skipped[1]?.why).toMatch(/@tensorflow\/tfjs-node is not installed/);
    expect(r.skipped[2]?.why).toMatch(/mixstream-test-absent-webgpu and mixstream-test-absent-tfjs-backend-webgpu are not installed/);
    expect(r.reason).toMatch(/auto/);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('really tries the real optional peers (absent in this environment) with the default importer', async () => {
    const r = await resolveBackend(undefined, { env: {} });
    // Wherever tfjs-node is installed this picks it, webgpu on a GPU; here neither, so the answer is wasm
    // (webgpu skipped: lavapipe is a software adapter, or there is none).
    expect(['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']).toContain(r.name);
    if (r.name === 'wasm')
      expect(r.skipped.every((s) => /not installed|failed to load|software adapter|WebGPU adapter/.test(s.why))).toBe(true);
  });

  it('explicit choice that cannot load is an error naming it and why', async () => {
    await expect(resolveBackend('tensorflow', { importModule: missing })).rejects.toThrow(
      /'tensorflow'.*@tensorflow\/tfjs-node is not installed/,
    );
    await expect(resolveBackend('tensorflow-gpu', { importModule: missing })).rejects.toThrow(
      /'tensorflow-gpu'.*tfjs-node-gpu is not installed/,
    );
  });

  it('reports a package that is installed but broken differently from one that is absent', async () => {
    const broken = (s: string) =>
      s.startsWith('@tensorflow/tfjs-node') ? Promise.reject(new Error('libtensorflow.so.2: cannot open shared object file')) : import(s);
    const r = await resolveBackend('auto', { importModule: broken, env: {} });
    expect(r.skipped[1]?.why).toMatch(/failed to load: libtensorflow\.so\.2/);
  });

  it('picks tensorflow when the package registers it, skipping the gpu build', async () => {
    const fake = async (s: string) => {
      if (s === '@tensorflow/tfjs-node') {
        // Stand-in for tfjs-node's side effect: registering a 'tensorflow' backend.
        tf.registerBackend('tensorflow', () => ({ dispose: () => undefined }) as unknown as tf.KernelBackend, 1);
        return {};
      }
      return missing(s);
    };
    const r = await resolveBackend(undefined, { importModule: fake, env: {} });
    expect(r).toMatchObject({ name: 'tensorflow', tfBackend: 'tensorflow' });
    expect(r.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu']);
  });

  it("auto: takes a parent's WebGPU probe as given instead of running its own (a --jobs worker)", async () => {
    const webgpuProbe = { why: 'the parent found none (a probe result passed down)' };
    // With the packages installed, a probe of its own would find lavapipe (or no adapter) and say something else.
    const r = await resolveBackend('auto', { importModule: missing, env: {}, webgpuProbe });
    expect(r.skipped.find((s) => s.name === 'webgpu')?.why).toBe(webgpuProbe.why);
    expect(r.name).toBe('wasm');
  });

  it('picks tfjs-node-gpu first when installed, before webgpu is even probed', async () => {
    const fake = async (s: string) => {
      if (s === '@tensorflow/tfjs-node-gpu') {
        tf.registerBackend('tensorflow', () => ({ dispose: () => undefined }) as unknown as tf.KernelBackend, 1);
        return {};
      }
      return missing(s);
    };
    const r = await resolveBackend(undefined, { importModule: fake, env: {}, webgpuPackages: noWebGpu });
    expect(r).toMatchObject({ name: 'tensorflow-gpu', tfBackend: 'tensorflow', skipped: [] });
    expect(r.adapter).toBeUndefined();
  });

  it('reads MIXSTREAM_BACKEND when no choice is given, and an explicit choice wins over it', async () => {
    expect(await resolveBackend(undefined, { env: { MIXSTREAM_BACKEND: 'cpu' } })).toMatchObject({
      name: 'cpu',
      tfBackend: 'cpu',
      reason: /MIXSTREAM_BACKEND/,
    });
    expect((await resolveBackend('wasm', { env: { MIXSTREAM_BACKEND: 'cpu' } })).name).toBe('wasm');
    await expect(resolveBackend(undefined, { env: { MIXSTREAM_BACKEND: 'tpu' } })).rejects.toThrow(/MIXSTREAM_BACKEND.*'tpu'/);
    await expect(resolveBackend(undefined, { env: { MIXSTREAM_BACKEND: 'tensorflow' }, importModule: missing })).rejects.toThrow(
      /set by MIXSTREAM_BACKEND/,
    );
  });

  it('parses choices case-insensitively and rejects others', () => {
    expect(parseBackendChoice(' WASM ')).toBe('wasm');
    expect(() => parseBackendChoice('webgl')).toThrow(/expected one of auto, tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
  });
});

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { backendKernelsInfo, nativeConvAvailable } from '../../src/backend/index.js';
import { rng } from '../../src/core/random.js';
import { accelerator, type Addon } from '../../src/core/native.js';
import { onWasmWithKernels } from './wasmSetup.js';

type Pad = 'same' | 'valid' | number;
interface Case {
  readonly b: number;
  readonly h: number;
  readonly w: number;
  readonly ci: number;
  readonly co: number;
  readonly f: number;
  readonly s: number;
  readonly d: number;
  readonly pad: Pad;
}
const label = (c: Case) => `x[${c.b},${c.h},${c.w},${c.ci}] f${c.f} co${c.co} s${c.s} d${c.d} ${c.pad}`;

// Edges of the GEMM: output channels below, between and above the 16-lane block (masked lanes),
// rows beyond one im2col chunk (4*24*24 = 2304 > 452 for k = 144), strides, dilations, 1x1.
const CASES: Case[] = [
  { b: 2, h: 7, w: 7, ci: 3, co: 4, f: 3, s: 2, d: 1, pad: 'same' },
  { b: 4, h: 24, w: 24, ci: 16, co: 20, f: 3, s: 1, d: 1, pad: 'same' },
  { b: 1, h: 9, w: 11, ci: 5, co: 37, f: 3, s: 2, d: 1, pad: 'valid' },
  { b: 3, h: 8, w: 8, ci: 8, co: 16, f: 1, s: 2, d: 1, pad: 'same' },
  { b: 2, h: 10, w: 9, ci: 2, co: 3, f: 3, s: 1, d: 2, pad: 'same' },
  { b: 2, h: 12, w: 12, ci: 32, co: 64, f: 3, s: 2, d: 1, pad: 1 },
  { b: 1, h: 6, w: 6, ci: 1, co: 1, f: 5, s: 1, d: 1, pad: 'valid' },
];

function data(c: Case) {
  const r = rng(11, label(c));
  const fill = (n: number) => Float32Array.from({ length: n }, () => r.normal());
  const info = tf.backend_util.computeConv2DInfo(
    [c.b, c.h, c.w, c.ci],
    [c.f, c.f, c.ci, c.co],
    c.s,
    c.d,
    c.pad,
    typeof c.pad === 'number' ? 'floor' : undefined,
  );
  return {
    x: fill(c.b * c.h * c.w * c.ci),
    w: fill(c.f * c.f * c.ci * c.co),
    bias: fill(c.co),
    dy: fill(tf.util.sizeFromShape(info.outShape)),
    out: info.outShape,
  };
}

/** Forward (plain and fused bias+relu) and both gradients on one backend, as arrays. */
async function run(backend: string, c: Case, d: ReturnType<typeof data>): Promise<Record<string, Float32Array>> {
  await tf.setBackend(backend);
  const rounding = typeof c.pad === 'number' ? 'floor' : undefined;
  const ts = tf.tidy(() => {
    const x = tf.tensor4d(d.x, [c.b, c.h, c.w, c.ci]);
    const w = tf.tensor4d(d.w, [c.f, c.f, c.ci, c.co]);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d, rounding);
    const fused = tf.fused.conv2d({
      x,
      filter: w,
      strides: c.s,
      pad: c.pad,
      dilations: c.d,
      ...(rounding ? { dimRoundingMode: rounding } : {}),
      bias: tf.tensor1d(d.bias),
      activation: 'relu',
    });
    const dy = tf.tensor4d(d.dy, d.out);
    // tfjs computes dilated convs' gradients only for dilation 1.
    const g = c.d === 1 ? tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, w]) : [];
    return [conv(x, w), fused, ...g];
  });
  const names = ['forward', 'fused bias relu', 'dx', 'dfilter'];
  const out: Record<string, Float32Array> = {};
  for (const [i, t] of ts.entries()) out[names[i] as string] = (await t.data()) as Float32Array;
  tf.dispose(ts);
  return out;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Counts the addon's conv calls, so a test knows which path ran. */
function countCalls(addon: Addon): { calls: Record<string, number>; restore: () => void } {
  const calls: Record<string, number> = {};
  const names = ['convForward', 'convBackpropFilter', 'convBackpropInput'] as const;
  const saved = names.map((n) => addon[n]);
  for (const n of names) {
    const fn = addon[n] as ((...a: unknown[]) => void) | undefined;
    if (fn === undefined) continue;
    calls[n] = 0;
    (addon as unknown as Record<string, unknown>)[n] = (...a: unknown[]) => {
      calls[n] = (calls[n] ?? 0) + 1;
      fn.apply(addon, a);
    };
  }
  return { calls, restore: () => names.forEach((n, i) => ((addon as unknown as Record<string, unknown>)[n] = saved[i])) };
}

const addon = onWasmWithKernels();

async function agreesWithCpu(): Promise<void> {
  for (const c of CASES) {
    const d = data(c);
    const want = await run('cpu', c, d);
    const got = await run('wasm', c, d);
    expect(Object.keys(got), label(c)).toEqual(Object.keys(want));
    for (const k of Object.keys(want))
      expect(relErr(got[k] as Float32Array, want[k] as Float32Array), `${k} ${label(c)}`).toBeLessThan(1e-4);
  }
  await tf.setBackend('wasm');
}

describe('native conv kernels on the wasm heap', () => {
  it.skipIf(!nativeConvAvailable())(
    'conv, fused bias+relu conv and both gradients equal cpu within 1e-4, and the addon ran them',
    async () => {
      const spy = countCalls(addon as Addon);
      try {
        await agreesWithCpu();
      } finally {
        spy.restore();
      }
      const gradCases = CASES.filter((c) => c.d === 1).length;
      // Forward: the plain and the fused conv per case, plus the forward pass inside tf.grads.
      expect(spy.calls).toEqual({ convForward: 2 * CASES.length + gradCases, convBackpropFilter: gradCases, convBackpropInput: gradCases });
      expect(backendKernelsInfo().kernels['Conv2DBackpropFilter']).toMatch(/^native/);
    },
  );

  it('without the addon the same kernels fall back to wasm and still equal cpu', async () => {
    accelerator.addon = undefined;
    expect(nativeConvAvailable()).toBe(false);
    await agreesWithCpu();
    expect(backendKernelsInfo().kernels['Conv2D']).toBe('tfjs-backend-wasm (xnnpack)');
  });

  it('leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    const c = CASES[1] as Case;
    await run('wasm', c, data(c));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
  });

  it.skipIf(!nativeConvAvailable())('rejects views whose length does not match the geometry, before touching memory', () => {
    const a = addon as Required<Addon>;
    const g = Int32Array.of(1, 4, 4, 2, 3, 3, 2, 4, 4, 1, 1, 1, 1, 1, 1);
    expect(() => a.convForward(g, new Float32Array(32), new Float32Array(36), null, 0, new Float32Array(31))).toThrow(/convForward out/);
    expect(() => a.convBackpropInput(g, new Float32Array(32), new Float32Array(35), new Float32Array(32))).toThrow(
      /convBackpropInput filter/,
    );
    expect(() => a.convBackpropFilter(Int32Array.of(1, 4), new Float32Array(32), new Float32Array(32), new Float32Array(36))).toThrow(
      /geometry/,
    );
  });
});

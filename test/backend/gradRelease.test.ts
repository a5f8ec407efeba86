/**
 * What src/backend/kernels/gradRelease.ts depends on in tfjs-core, pinned, so that a tfjs upgrade
 * that moves it fails here by name instead of freeing a gradient still in use: the gradient
 * registry is the Map `_tfGlobals.get('gradRegistry')` that tf.getGradient reads, and the tape
 * runs a node's input closures before it calls the next node's gradient function.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerGradientRelease } from '../../src/backend/kernels/gradRelease.js';
import { registerWasmTrainingKernels } from '../../src/backend/index.js';

const MARK = Symbol.for('mixstream.grad-release');

describe('gradRelease: the tfjs internals it hooks', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    expect(await tf.setBackend('wasm')).toBe(true);
  });

  it('the registry it wraps is the one tf.getGradient reads', () => {
    const registry = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals?.get('gradRegistry');
    expect(registry, "tfjs-core keeps no _tfGlobals 'gradRegistry' any more: gradRelease.ts wraps nothing").toBeInstanceOf(Map);
    // registerWasmTrainingKernels (beforeAll) wrapped them all: a second call finds nothing left.
    expect(registerGradientRelease()).toBe(0);
    for (const kernel of ['Conv2D', 'FusedBatchNorm', 'Relu6', 'Add']) {
      expect((tf.getGradient(kernel) as (tf.GradConfig & { [MARK]?: true }) | undefined)?.[MARK], kernel).toBe(true);
    }
  });

  it("the tape runs a node's input closures before the next node's gradient function", () => {
    const seen: string[] = [];
    for (const kernel of ['Exp', 'Square']) {
      const original = tf.getGradient(kernel) as tf.GradConfig;
      tf.registerGradient({
        ...original,
        gradFunc: (dy, saved, attrs) => {
          seen.push(`${kernel} gradient`);
          const closures = original.gradFunc(dy, saved, attrs);
          return Object.fromEntries(
            Object.entries(closures).map(([input, f]) => [
              input,
              () => {
                seen.push(`${kernel} ${input}`);
                return f();
              },
            ]),
          );
        },
      });
    }
    const g = tf.grad((x: tf.Tensor) => tf.exp(tf.square(x)))(tf.tensor1d([0.5, -1]));
    g.dispose();
    expect(seen).toEqual(['Exp gradient', 'Exp x', 'Square gradient', 'Square x']);
  });
});

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, expect } from 'vitest';
import { registerWasmTrainingKernels } from '../../src/backend/index.js';
import { accelerator } from '../../src/core/native.js';

/**
 * For a test file of the wasm training kernels: the wasm backend with mixstream's kernels before
 * the tests, and the native addon put back after each (a test turns it off to check the fallback).
 * Returns the addon as loaded (undefined where it did not build).
 */
export function onWasmWithKernels(): typeof accelerator.addon {
  const addon = accelerator.addon;
  afterEach(() => {
    accelerator.addon = addon;
  });
  beforeAll(async () => {
    registerWasmTrainingKernels();
    expect(await tf.setBackend('wasm')).toBe(true);
  });
  return addon;
}

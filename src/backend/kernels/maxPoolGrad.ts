/**
 * MaxPoolGrad on 'wasm' through the native addon (native/pool.c), in place on the heap: the
 * largest kernel of simple-cnn's training step on tfjs-backend-wasm. Same tie rule as the cpu
 * backend (first strict maximum of the window). NHWC float32 only; otherwise the original.
 */
import tf from '#tfjs';
import { accelerator } from '../../core/native.js';
import { asWasm, view } from './heap.js';
import { convPad, override, pair, roundingMode } from './shared.js';

/** Replaces wasm's MaxPoolGrad. Idempotent; returns whether it replaced it now. */
export function registerNativeMaxPoolGrad(): boolean {
  return override('MaxPoolGrad', (original) => (args) => {
    const { dy, input } = args.inputs;
    const attrs = args.attrs ?? {};
    const run = accelerator.addon?.maxPoolGrad;
    const backend = asWasm(args.backend);
    if (
      run === undefined ||
      backend === null ||
      dy === undefined ||
      input === undefined ||
      input.dtype !== 'float32' ||
      dy.dtype !== 'float32' ||
      input.shape.length !== 4
    ) {
      return original.kernelFunc(args);
    }
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      pair(attrs['filterSize'], 1, 'MaxPoolGrad'),
      pair(attrs['strides'], 1, 'MaxPoolGrad'),
      1,
      convPad(attrs['pad'], 'MaxPoolGrad') as 'same' | 'valid' | number,
      roundingMode(attrs['dimRoundingMode']),
    );
    const geom = Int32Array.of(
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    );
    const dx = backend.makeOutput(input.shape, 'float32');
    run.call(accelerator.addon, geom, view(backend, input), view(backend, dy), view(backend, dx));
    return dx;
  });
}

/**
 * Conv2DBackpropFilter for the wasm backend, which lacks it (so tf.layers conv nets cannot train
 * there). The filter gradient is itself a convolution, so it runs on wasm's XNNPACK Conv2D:
 *   dW[kh, kw, ci, co] = sum_{b, oy, ox} x[b, oy*s + kh*d - pad, ox*s + kw*d - pad, ci] * dy[b, oy, ox, co]
 * is the convolution of x as [ci, h, w, b] (ci as batch, b as channels) with dy as the filter
 * [oh, ow, b, co], stride = the forward dilation, dilation = the forward stride, 'valid' over x
 * padded or cropped to the forward window; the result [ci, fh, fw, co] is transposed back.
 */
import tf from '#tfjs';
import { nativeConvBackpropFilter } from './nativeConv.js';
import { alignInput, checkDy, convPad, pair, roundingMode, shape4, withInputs } from './shared.js';

const KERNEL = 'Conv2DBackpropFilter';

/** The filter gradient of an NHWC conv2d, as a function of tensors, so it can be tested apart from registration. */
export function conv2dBackpropFilterNHWC(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: Parameters<typeof tf.backend_util.computeConv2DInfo>[4],
  dilations: [number, number] = [1, 1],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
    checkDy(KERNEL, dy, [x.shape[0], info.outHeight, info.outWidth, filterShape[3]]);
    const xT = tf.transpose(alignInput(x, info), [3, 1, 2, 0]) as tf.Tensor4D; // [ci, H', W', b]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, b, co]
    const out = tf.conv2d(xT, dyT, [info.dilationHeight, info.dilationWidth], 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D; // [fh, fw, ci, co]
  });
}

/** The kernel config registered for 'wasm' (see registerWasmTrainingKernels). */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs = {}, backend }) => {
    const { x, dy } = inputs;
    if (x !== undefined && dy !== undefined && attrs['dataFormat'] !== 'NCHW') {
      // The native addon, in place on the wasm heap, where it is built (nativeConv.ts).
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        shape4(attrs['filterShape'], KERNEL),
        pair(attrs['strides'], 1, KERNEL),
        1,
        convPad(attrs['pad'], KERNEL),
        roundingMode(attrs['dimRoundingMode']),
        false,
        'channelsLast',
      );
      const native = nativeConvBackpropFilter(backend, x, dy, info);
      if (native !== null) return native;
    }
    return withInputs(KERNEL, inputs, ['x', 'dy'], ([x, dy]) => {
      const filterShape = shape4(attrs['filterShape'], KERNEL);
      const strides = pair(attrs['strides'], 1, KERNEL);
      const pad = convPad(attrs['pad'], KERNEL);
      const rounding = roundingMode(attrs['dimRoundingMode']);
      let x4 = x as tf.Tensor4D;
      let dy4 = dy as tf.Tensor4D;
      if (attrs['dataFormat'] === 'NCHW') {
        // NCHW explicit padding lists [[0,0],[0,0],[t,b],[l,r]]; move it to NHWC order too.
        x4 = tf.transpose(x4, [0, 2, 3, 1]);
        dy4 = tf.transpose(dy4, [0, 2, 3, 1]);
      }
      const nhwcPad = attrs['dataFormat'] === 'NCHW' && Array.isArray(pad) ? ([pad[0], pad[2], pad[3], pad[1]] as typeof pad) : pad;
      return conv2dBackpropFilterNHWC(x4, dy4, filterShape, strides, nhwcPad, [1, 1], rounding);
    });
  },
};

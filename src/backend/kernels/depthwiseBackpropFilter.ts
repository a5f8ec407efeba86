/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend, which lacks it (so MobileNet-style
 * nets cannot train there). Same identity as the conv2d filter gradient, but each input channel
 * only meets its own m output channels, so (batch, channel) pairs become the channels of one
 * depthwise convolution whose "filter" is dy; summing over the batch afterwards gives dW:
 *   x [b,h,w,c] -> [1, h, w, b*c];  dy [b,oh,ow,c*m] -> [oh, ow, b*c, m]
 *   depthwiseConv2d(stride = forward dilation, dilation = forward stride, 'valid')
 *   -> [1, fh, fw, b*c*m] -> [fh, fw, b, c*m] -> sum over b -> [fh, fw, c, m].
 */
import tf from '#tfjs';
import { nativeDepthwiseBackpropFilter } from './nativeDepthwise.js';
import { alignInput, checkDy, convPad, pair, roundingMode, shape4, withInputs } from './shared.js';

const KERNEL = 'DepthwiseConv2dNativeBackpropFilter';

/** The filter gradient of an NHWC depthwise conv, as a function of tensors, testable apart from registration. */
export function depthwiseBackpropFilterNHWC(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: Parameters<typeof tf.backend_util.computeConv2DInfo>[4],
  dilations: [number, number] = [1, 1],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true, 'channelsLast');
    const [fh, fw, c, m] = filterShape;
    const [b] = x.shape;
    checkDy(KERNEL, dy, [b, info.outHeight, info.outWidth, c * m]);
    const xa = alignInput(x, info);
    const [, hp, wp] = xa.shape;
    const xr = tf.reshape(tf.transpose(xa, [1, 2, 0, 3]), [1, hp, wp, b * c]) as tf.Tensor4D;
    const dyr = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [info.outHeight, info.outWidth, b * c, m]) as tf.Tensor4D;
    const out = tf.depthwiseConv2d(xr, dyr, [info.dilationHeight, info.dilationWidth], 'valid', 'NHWC', [
      info.strideHeight,
      info.strideWidth,
    ]);
    const perBatch = tf.reshape(out, [fh, fw, b, c * m]);
    return tf.reshape(b === 1 ? perBatch : tf.sum(perBatch, 2), [fh, fw, c, m]) as tf.Tensor4D;
  });
}

/** The kernel config registered for 'wasm' (see registerWasmTrainingKernels). */
export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs = {}, backend }) =>
    (inputs['x'] && inputs['dy'] && nativeDepthwiseBackpropFilter(backend, inputs['x'], inputs['dy'], attrs)) ||
    withInputs(KERNEL, inputs, ['x', 'dy'], ([x, dy]) =>
      depthwiseBackpropFilterNHWC(
        x as tf.Tensor4D,
        dy as tf.Tensor4D,
        shape4(attrs['filterShape'], KERNEL),
        pair(attrs['strides'], 1, KERNEL),
        convPad(attrs['pad'], KERNEL),
        pair(attrs['dilations'], 1, KERNEL),
        roundingMode(attrs['dimRoundingMode']),
      ),
    ),
};

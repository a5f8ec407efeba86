/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend, which lacks it. The input gradient of
 * a strided correlation is a stride-1 correlation of dy spread out by the stride (zeros between)
 * with the spatially flipped filter; with a channel multiplier m the m output channels of each
 * input channel are convolved separately (multiplier 1) and then summed:
 *   dy [b,oh,ow,c*m] -> spread by stride, padded by (fh-1)*d - padTop ... -> [b, h+(fh-1)d, w+(fw-1)d, c*m]
 *   depthwiseConv2d(flip(W) as [fh, fw, c*m, 1], stride 1, dilation d, 'valid') -> [b,h,w,c*m]
 *   -> [b,h,w,c,m] -> sum over m -> [b,h,w,c].
 */
import tf from '#tfjs';
import { nativeDepthwiseBackpropInput } from './nativeDepthwise.js';
import { checkDy, convPad, dilateSpatial, pair, padOrCrop, roundingMode, shape4, withInputs } from './shared.js';

const KERNEL = 'DepthwiseConv2dNativeBackpropInput';

/** The input gradient of an NHWC depthwise conv, as a function of tensors, testable apart from registration. */
export function depthwiseBackpropInputNHWC(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: [number, number],
  pad: Parameters<typeof tf.backend_util.computeConv2DInfo>[4],
  dilations: [number, number] = [1, 1],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      dilations,
      pad,
      dimRoundingMode,
      true,
      'channelsLast',
    );
    const [b, h, w, c] = inputShape;
    const [fh, fw, , m] = filter.shape;
    checkDy(KERNEL, dy, [b, info.outHeight, info.outWidth, c * m]);
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
    const spread = dilateSpatial(dy, sh, sw); // [b, oh*sh, ow*sw, c*m]
    const top = (fh - 1) * dh - padInfo.top;
    const left = (fw - 1) * dw - padInfo.left;
    const rows = padOrCrop(spread, 1, top, h + (fh - 1) * dh - top - (spread.shape[1] as number));
    const full = padOrCrop(rows, 2, left, w + (fw - 1) * dw - left - (spread.shape[2] as number)) as tf.Tensor4D;
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [fh, fw, c * m, 1]) as tf.Tensor4D;
    const out = tf.depthwiseConv2d(full, flipped, 1, 'valid', 'NHWC', [dh, dw]);
    return (m === 1 ? out : tf.sum(tf.reshape(out, [b, h, w, c, m]), 4)) as tf.Tensor4D;
  });
}

/** The kernel config registered for 'wasm' (see registerWasmTrainingKernels). */
export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs = {}, backend }) =>
    (inputs['dy'] && inputs['filter'] && nativeDepthwiseBackpropInput(backend, inputs['dy'], inputs['filter'], attrs)) ||
    withInputs(KERNEL, inputs, ['dy', 'filter'], ([dy, filter]) =>
      depthwiseBackpropInputNHWC(
        shape4(attrs['inputShape'], KERNEL),
        dy as tf.Tensor4D,
        filter as tf.Tensor4D,
        pair(attrs['strides'], 1, KERNEL),
        convPad(attrs['pad'], KERNEL),
        pair(attrs['dilations'], 1, KERNEL),
        roundingMode(attrs['dimRoundingMode']),
      ),
    ),
};

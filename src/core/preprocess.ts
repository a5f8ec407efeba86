/**
 * The input scalings pretrained backbones expect (keras.applications' imagenet_utils modes), over
 * HWC float32 values in [0, 1] as the pipeline carries them (Keras's functions take 0-255).
 */

/** 'tf': [-1, 1]; 'caffe': RGB to BGR, 0-255, minus the ImageNet means; 'torch': (x - mean) / std per channel. */
export type PreprocessMode = 'tf' | 'caffe' | 'torch';

/** Every mode, for validating user input. */
export const PREPROCESS_MODES: readonly PreprocessMode[] = ['tf', 'caffe', 'torch'];

/** ImageNet's per-channel mean of RGB values in [0, 1] ('torch' mode). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** ImageNet's per-channel standard deviation of RGB values in [0, 1] ('torch' mode). */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** ImageNet's per-channel mean in BGR order, 0-255 scale ('caffe' mode). */
export const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

/**
 * `values` (HWC or NHWC, last axis `channels`, in [0, 1]) preprocessed for `mode`, written into
 * `out` (which may be `values` itself: each pixel is read whole before it is written). 'caffe' and
 * 'torch' need 3 channels (RGB in, BGR out for 'caffe'); 'tf' takes any.
 */
export function preprocessValues(
  values: Float32Array,
  channels: number,
  mode: PreprocessMode,
  out: Float32Array = new Float32Array(values.length),
): Float32Array {
  if (out.length !== values.length) throw new RangeError(`preprocessValues: out has ${out.length} values, input ${values.length}`);
  if (mode === 'tf') {
    for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) * 2 - 1;
    return out;
  }
  if (channels !== 3) throw new RangeError(`preprocessValues: mode '${mode}' needs 3 channels (RGB), got ${channels}`);
  if (values.length % 3 !== 0) throw new RangeError(`preprocessValues: ${values.length} values are not whole RGB pixels`);
  for (let i = 0; i < values.length; i += 3) {
    const r = values[i] as number;
    const g = values[i + 1] as number;
    const b = values[i + 2] as number;
    if (mode === 'caffe') {
      out[i] = b * 255 - CAFFE_MEAN_BGR[0];
      out[i + 1] = g * 255 - CAFFE_MEAN_BGR[1];
      out[i + 2] = r * 255 - CAFFE_MEAN_BGR[2];
    } else {
      out[i] = (r - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
      out[i + 1] = (g - IMAGENET_MEAN[1]) / IMAGENET_STD[1];
      out[i + 2] = (b - IMAGENET_MEAN[2]) / IMAGENET_STD[2];
    }
  }
  return out;
}

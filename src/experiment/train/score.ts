/**
 * Scores a model on a split from its predictions: the loss, the number of images it gets right (an
 * integer, counted from argmax(prediction) == argmax(label), not a float32 metric's ratio) and,
 * when asked, a bit per image (1: right), in the split's fixed order. The paired tests run on these
 * integers (stats/counts.ts) and the seeds x images interval on the bits (stats/images.ts).
 */
import tf from '#tfjs';

export interface SplitScore {
  /** Mean categorical cross-entropy over the images. */
  readonly loss: number;
  /** Images classified right. */
  readonly correct: number;
  readonly images: number;
  /** Per-image correctness, bit i of byte i >> 3 (LSB first); present when asked for. */
  readonly bits?: Uint8Array;
}

/** Scores `model` on every batch of `dataset` ({xs, ys}, which it disposes), reading values with await data(). */
export async function scoreSplit(
  model: tf.LayersModel,
  dataset: tf.data.Dataset<tf.TensorContainer>,
  options: { readonly bits?: boolean; readonly expectedImages?: number } = {},
): Promise<SplitScore> {
  const iterator = await dataset.iterator();
  let lossSum = 0;
  let correct = 0;
  let images = 0;
  const chunks: Uint8Array[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    const { xs, ys } = next.value as { xs: tf.Tensor; ys: tf.Tensor };
    const [hits, losses] = tf.tidy(() => {
      const predicted = model.predict(xs) as tf.Tensor;
      return [
        tf.equal(tf.argMax(predicted, -1), tf.argMax(ys, -1)).cast('int32'),
        tf.metrics.categoricalCrossentropy(ys, predicted),
      ] as const;
    });
    xs.dispose();
    ys.dispose();
    const [h, l] = await Promise.all([hits.data(), losses.data()]);
    hits.dispose();
    losses.dispose();
    const bytes = new Uint8Array(h.length);
    for (let i = 0; i < h.length; i++) {
      bytes[i] = h[i] as number;
      correct += h[i] as number;
      lossSum += l[i] as number;
    }
    if (options.bits) chunks.push(bytes);
    images += h.length;
  }
  const score = { loss: images === 0 ? Number.NaN : lossSum / images, correct, images };
  if (!options.bits) return score;
  const bits = new Uint8Array(Math.ceil(images / 8));
  let i = 0;
  for (const c of chunks)
    for (const v of c) {
      if (v) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
      i++;
    }
  return { ...score, bits };
}

/**
 * Pretrained weights into a model, matched by layer name: a Keras .h5 (kerasH5.ts) or a tfjs
 * model.json with its shards (tfjsWeights.ts). Every backbone layer must be in the file with
 * weights of the model's shapes; the head mixstream added is loaded only when the file has one of
 * the same shape (else it keeps its fresh weights). Layers the file has and the model lacks (a
 * 1000-class 'predictions') are ignored. Every refusal is one line naming the file and the reason.
 */
import tf from '#tfjs';
import { HEAD_PREFIX } from './backbone.js';
import { readKerasH5, type KerasLayout } from './kerasH5.js';
import { readTfjsWeights } from './tfjsWeights.js';
import { fileSha256, regularFileSize, WeightsError, type ExpectedLayer, type LayerValues } from './weightFiles.js';

export { WeightsError } from './weightFiles.js';

/** What loadWeights loaded, for the run's record and report. */
export interface LoadedWeights {
  readonly file: string;
  /** 'applications' / 'model' / 'keras3' for an .h5, 'tfjs' for a model.json. */
  readonly layout: KerasLayout | 'tfjs';
  /** SHA-256 of the file (for a model.json: of the JSON), hex. */
  readonly sha256: string;
  /** Layers whose weights came from the file. */
  readonly layers: number;
  /** Whether the head came from the file too, or is the fresh one. */
  readonly head: 'loaded' | 'new';
}

/** The layers of `model` that have weights, with their short weight names and shapes. */
export function expectedLayers(model: tf.LayersModel): ExpectedLayer[] {
  return model.layers
    .filter((l) => l.weights.length > 0)
    .map((l) => ({
      name: l.name,
      weights: l.weights.map((w) => ({ name: w.originalName.split('/').pop() ?? w.originalName, shape: w.shape as number[] })),
    }));
}

/**
 * The values in `file` for `model`'s layers, checked (see the file comment); nothing is assigned.
 * Read once, applyWeights gives them to any number of models of the same architecture.
 */
export async function readWeightsFor(
  model: tf.LayersModel,
  file: string,
): Promise<{ layout: LoadedWeights['layout']; values: Map<string, LayerValues> }> {
  const size = await regularFileSize(file);
  const expected = expectedLayers(model);
  const optional = new Set(expected.filter((l) => l.name.startsWith(HEAD_PREFIX)).map((l) => l.name));
  if (/\.json$/i.test(file)) {
    // Room for the model's own weights and a 1000-class ImageNet top, never more.
    const budget = 4 * model.countParams() + 4 * 2048 * 1001 + (1 << 20);
    return { layout: 'tfjs', values: await readTfjsWeights(file, size, expected, optional, budget) };
  }
  return readKerasH5(file, size, expected, optional);
}

/** Assigns values read by readWeightsFor; returns how many layers got them and whether the head did. */
export function applyWeights(model: tf.LayersModel, values: ReadonlyMap<string, LayerValues>): { layers: number; head: 'loaded' | 'new' } {
  let layers = 0;
  let head: 'loaded' | 'new' = 'new';
  for (const layer of model.layers) {
    const v = values.get(layer.name);
    if (v === undefined) continue;
    const tensors = v.map((a, i) => tf.tensor(a, layer.weights[i]!.shape as number[], 'float32'));
    layer.setWeights(tensors);
    tf.dispose(tensors);
    layers++;
    if (layer.name.startsWith(HEAD_PREFIX)) head = 'loaded';
  }
  return { layers, head };
}

/**
 * Loads `file`'s weights into `model` by layer name; rejects with a WeightsError (one line) when
 * the file cannot be read or does not fit.
 *
 * @example
 * const model = createModel('mobilenet-v2', { inputSize: 224, numClasses: 120 });
 * const loaded = await loadWeights(model, 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5');
 */
export async function loadWeights(model: tf.LayersModel, file: string): Promise<LoadedWeights> {
  const { layout, values } = await readWeightsFor(model, file);
  const { layers, head } = applyWeights(model, values);
  if (layers === 0) throw new WeightsError(file, 'has no layer of this model');
  return { file, layout, sha256: await fileSha256(file), layers, head };
}

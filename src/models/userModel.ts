/**
 * Your own model (`--model path/to/model.json`): a tfjs Layers model as `model.save` writes it
 * (or converted from Keras), read from disk without tfjs-node. Its weights are the shared starting
 * point of every arm and seed; when its output does not match the data's classes, the last layer
 * is replaced by a new softmax head whose initial weights are keyed by the run seed (so the arms of
 * one seed still start identical).
 */
import path from 'node:path';
import tf from '#tfjs';
import { hashKeys } from '../core/random.js';
import { readContained } from '../sources/files.js';
import { compileClassifier, SeededInit } from './common.js';

/** The files of a saved model, read once; `fingerprint` hashes their bytes (part of the config hash). */
export interface ModelFiles {
  readonly file: string;
  readonly artifacts: tf.io.ModelArtifacts;
  readonly fingerprint: string;
}

interface ModelJson {
  readonly modelTopology?: unknown;
  readonly format?: string;
  readonly weightsManifest?: ReadonlyArray<{ readonly paths: readonly string[]; readonly weights: tf.io.WeightsManifestEntry[] }>;
}

/** A model.json larger than this is not one (its topology is text; the weights are in their own files). */
const MODEL_JSON_MAX_BYTES = 64 << 20;

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Why a read failed: a SourceError's reason (its message repeats the path), else the message. */
const why = (e: unknown): string =>
  (e as { dataError?: { reason?: string } }).dataError?.reason ?? (e instanceof Error ? e.message : String(e));

/** The bytes a manifest group's weights take (what its files may hold at most), or undefined when not computable. */
function groupBytes(weights: readonly tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const w of weights) {
    const per = BYTES_PER_ELEMENT[w.quantization?.dtype ?? w.dtype];
    if (per === undefined || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return undefined;
    total += per * w.shape.reduce((a, b) => a * b, 1);
  }
  return total;
}

/**
 * Reads model.json and its weight files; throws an Error naming the file and the problem. Both are
 * read like data (sources/files.ts: readContained): a FIFO, a device or a link out of the model's
 * folder is refused before a read, and a weight file larger than its manifest says is refused.
 */
export async function readModelFiles(file: string): Promise<ModelFiles> {
  let json: ModelJson;
  const text = await readContained('--model', file, MODEL_JSON_MAX_BYTES)
    .then((b) => b.toString('utf8'))
    .catch((e: unknown) => {
      throw new Error(`--model: cannot read '${file}': ${why(e)}`);
    });
  try {
    json = JSON.parse(text) as ModelJson;
  } catch {
    throw new Error(`--model: '${file}' is not JSON`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest))
    throw new Error(
      `--model: '${file}' has no modelTopology or weightsManifest (expected a tfjs Layers model.json as model.save writes it)`,
    );
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    let room = groupBytes(group.weights) ?? MODEL_JSON_MAX_BYTES * 16;
    for (const p of group.paths) {
      const bin = path.resolve(path.dirname(file), p);
      if (path.relative(path.dirname(path.resolve(file)), bin).startsWith('..'))
        throw new Error(`--model: weight path '${p}' leaves the model's folder`);
      const part = await readContained('--model', bin, room).catch((e: unknown) => {
        throw new Error(`--model: cannot read weight file '${bin}': ${why(e)}`);
      });
      room -= part.byteLength;
      parts.push(part);
    }
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    weightData.set(p, at);
    at += p.byteLength;
  }
  let h = hashKeys([text]);
  for (let i = 0; i < weightData.length; i += 4096) h = hashKeys([h, ...weightData.subarray(i, i + 4096)]);
  return {
    file,
    artifacts: {
      modelTopology: json.modelTopology as object,
      weightSpecs: specs,
      weightData: weightData.buffer,
      format: json.format ?? 'layers-model',
    },
    fingerprint: (h >>> 0).toString(16).padStart(8, '0'),
  };
}

/**
 * A fresh model from the files: the saved weights, a new head (seeded by `seed`) when the output
 * width is not `numClasses`, compiled like the zoo's. Rejects when the input is not [size, size, channels].
 */
export async function loadUserModel(
  files: ModelFiles,
  o: {
    readonly inputSize: number;
    readonly numClasses: number;
    readonly seed: number;
    readonly learningRate: number;
    readonly channels?: number;
  },
): Promise<tf.LayersModel> {
  const base = await tf.loadLayersModel(tf.io.fromMemory(files.artifacts));
  const shape = base.inputs[0]?.shape ?? [];
  const channels = o.channels ?? 3;
  if (base.inputs.length !== 1 || shape.length !== 4 || shape[1] !== o.inputSize || shape[2] !== o.inputSize || shape[3] !== channels) {
    base.dispose();
    throw new Error(
      `--model: '${files.file}' takes input ${JSON.stringify(shape)}, the pipeline gives [null, ${o.inputSize}, ${o.inputSize}, ${channels}] (set --size to the model's)`,
    );
  }
  const out = base.outputs[0]?.shape ?? [];
  if (out[out.length - 1] === o.numClasses) return compileClassifier(base, o.learningRate);
  // The features: the input of the last layer (the old head).
  const head = base.layers[base.layers.length - 1];
  const features = head?.input;
  if (!features || Array.isArray(features)) {
    base.dispose();
    throw new Error(`--model: cannot find the features before the last layer of '${files.file}' to put a ${o.numClasses}-class head on`);
  }
  const init = new SeededInit(o.seed, 'user-head');
  const flat = features.shape.length > 2 ? tf.layers.flatten().apply(features) : features;
  const logits = tf.layers
    .dense({ units: o.numClasses, activation: 'softmax', kernelInitializer: init.glorot(), name: 'mixstream_head' })
    .apply(flat) as tf.SymbolicTensor;
  return compileClassifier(tf.model({ inputs: base.inputs, outputs: logits }), o.learningRate);
}

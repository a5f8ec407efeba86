/**
 * Builders of weight files for the loading tests: Keras-layout .h5 files written by Debian's
 * python3-h5py (kerasH5.py beside this file) and tfjs model.json folders, from a model's own
 * weights, so what a loaded model must hold is known value for value.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { systemPackage } from '../system.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Debian's interpreter, where python3-h5py installs (a pyenv python3 earlier on PATH lacks it). */
export const PYTHON = '/usr/bin/python3';

/** Whether python3-h5py is here (else the test says so and skips; a failure under MIXSTREAM_REQUIRE_SYSTEM=1). */
export const haveH5py = (): boolean => systemPackage('python3-h5py', '/usr/lib/python3/dist-packages/h5py/__init__.py');

export interface SpecLayer {
  readonly name: string;
  readonly weights: Array<{ name: string; shape: number[]; values: Float32Array }>;
}

/** The layers of `model` (all of them, weightless ones too, as Keras lists them), with their weights' values. */
export function layersOf(model: tf.LayersModel, keep: (name: string) => boolean = () => true): SpecLayer[] {
  return model.layers
    .filter((l) => keep(l.name) && l.getClassName() !== 'InputLayer')
    .map((l) => ({
      name: l.name,
      weights: l.weights.map((w) => ({
        name: w.originalName.split('/').pop()!,
        shape: w.shape as number[],
        values: w.read().dataSync() as Float32Array,
      })),
    }));
}

/** Writes `layers` as a Keras .h5 in `layout` (see kerasH5.py) at `out`. */
export async function writeKerasH5(out: string, layers: readonly SpecLayer[], layout: 'applications' | 'model' | 'keras3'): Promise<void> {
  const blob = `${out}.f32`;
  const values = layers.flatMap((l) => l.weights.map((w) => w.values));
  await writeFile(blob, Buffer.concat(values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength))));
  const spec = {
    layout,
    blob,
    layers: layers.map((l) => ({ name: l.name, weights: l.weights.map(({ name, shape }) => ({ name, shape })) })),
  };
  await writeFile(`${out}.json`, JSON.stringify(spec));
  execFileSync(PYTHON, [path.join(here, 'kerasH5.py'), `${out}.json`, out], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Writes `model` as a tfjs model.json + one weights.bin in `dir`; returns the model.json path. */
export async function writeTfjsModel(model: tf.LayersModel, dir: string): Promise<string> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } })),
  );
  const a = artifacts!;
  const file = path.join(dir, 'model.json');
  await writeFile(path.join(dir, 'weights.bin'), Buffer.from(a.weightData as ArrayBuffer));
  await writeFile(
    file,
    JSON.stringify({
      modelTopology: a.modelTopology,
      format: 'layers-model',
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    }),
  );
  return file;
}

/** Largest |a - b| over every weight of the layers both models have, and how many layers were compared. */
export function maxWeightDifference(
  a: tf.LayersModel,
  b: tf.LayersModel,
  keep: (name: string) => boolean,
): { max: number; layers: number } {
  let max = 0;
  let layers = 0;
  for (const la of a.layers) {
    if (!keep(la.name) || la.weights.length === 0) continue;
    const lb = b.getLayer(la.name);
    layers++;
    la.weights.forEach((w, i) => {
      const x = w.read().dataSync();
      const y = lb.weights[i]!.read().dataSync();
      if (x.length !== y.length) throw new Error(`${la.name} weight ${i}: ${x.length} values against ${y.length}`);
      for (let k = 0; k < x.length; k++) max = Math.max(max, Math.abs(x[k]! - y[k]!));
    });
  }
  return { max, layers };
}

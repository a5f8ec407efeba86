import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend } from '../../src/backend/index.js';
import { createModel, HEAD_NAME, loadWeights } from '../../src/models/index.js';
import { haveH5py, layersOf, PYTHON, writeKerasH5, writeTfjsModel, type SpecLayer } from '../models/kerasFiles.js';
import { scratchDir } from './corpus.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let model: tf.LayersModel;
let layers: SpecLayer[];
let dir: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  expect((await resolveBackend('wasm')).tfBackend).toBe('wasm');
  model = createModel('mobilenet-v2', { alpha: 0.35, inputSize: 32, numClasses: 3, seed: 1, compile: false } as never);
  layers = layersOf(model, (n) => n !== HEAD_NAME);
  ({ dir, remove } = await scratchDir('weights'));
});
afterAll(async () => {
  model.dispose();
  await remove();
});

/** Loads `file` into the model; resolves to the one-line message it must fail with. */
async function refusal(file: string): Promise<string> {
  const err = await loadWeights(model, file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${file} loaded`).toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  expect(message.startsWith(`weights '${file}': `), message).toBe(true);
  return message;
}

/** A hostile .h5 from kerasH5Hostile.py: Conv1, the model's first layer, lying the way `kind` says. */
function hostileH5(kind: string): string {
  const out = path.join(dir, `${kind}.h5`);
  execFileSync(PYTHON, [path.join(here, 'kerasH5Hostile.py'), kind, out, 'Conv1', '[3, 3, 3, 16]'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return out;
}

describe('hostile weight files: refused in one line naming the file and the reason', () => {
  const h5 = haveH5py();

  it.runIf(h5)('a weight of the wrong shape, a missing layer', async () => {
    const wrong = layers.map((l) =>
      l.name === 'block_2_expand' ? { ...l, weights: l.weights.map((w) => ({ ...w, shape: [...w.shape].reverse() })) } : l,
    );
    await writeKerasH5(path.join(dir, 'wrong.h5'), wrong, 'applications');
    expect(await refusal(path.join(dir, 'wrong.h5'))).toMatch(
      /'\/block_2_expand\/block_2_expand\/kernel:0' is 48x8x1x1 \(.*\), the model's weight is 1x1x8x48/,
    );
    await writeKerasH5(
      path.join(dir, 'missing.h5'),
      layers.filter((l) => l.name !== 'block_3_project_BN'),
      'keras3',
    );
    expect(await refusal(path.join(dir, 'missing.h5'))).toMatch(/layer 'block_3_project_BN' \(4 weights\) is not in the file/);
  });

  it.runIf(h5)('a 4 GB dataset declared in a header is refused from its header, memory bounded', async () => {
    const file = hostileH5('huge');
    const before = process.memoryUsage().rss;
    expect(await refusal(file)).toMatch(/'\/Conv1\/Conv1\/kernel:0' is 1073741824 \(4\.3 GB declared\), the model's weight is 3x3x3x16/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
  });

  it.runIf(h5)('data outside the file: an external link, external storage in /dev/zero; float16', async () => {
    expect(await refusal(hostileH5('external-link'))).toMatch(/layer 'Conv1' .* is an external link to '\/etc\/passwd:\/Conv1'/);
    expect(await refusal(hostileH5('external-storage'))).toMatch(/keeps its data in '\/dev\/zero', outside this file/);
    expect(await refusal(hostileH5('float16'))).toMatch(/is not float32 or float64/);
  });

  it.runIf(h5)('not HDF5, and a real file cut in half', async () => {
    await writeFile(path.join(dir, 'text.h5'), 'not hdf5 at all, just text that is long enough');
    expect(await refusal(path.join(dir, 'text.h5'))).toMatch(/is not an HDF5 file/);
    const cut = path.join(dir, 'cut.h5');
    await writeKerasH5(cut, layers, 'applications');
    const { size } = await import('node:fs').then((fs) => fs.statSync(cut));
    await truncate(cut, Math.floor(size / 2));
    expect(await refusal(cut)).toMatch(/HDF5 cannot (open|read)/);
  });

  it('a symlink to /dev/zero, a FIFO, a folder: refused without reading or blocking', async () => {
    await symlink('/dev/zero', path.join(dir, 'zero.h5'));
    expect(await refusal(path.join(dir, 'zero.h5'))).toMatch(/is a character device, not a regular file/);
    execFileSync('mkfifo', [path.join(dir, 'fifo.h5')]);
    expect(await refusal(path.join(dir, 'fifo.h5'))).toMatch(/is a FIFO, not a regular file/);
    await mkdir(path.join(dir, 'folder.h5'));
    expect(await refusal(path.join(dir, 'folder.h5'))).toMatch(/is a folder/);
    expect(await refusal(path.join(dir, 'absent.h5'))).toMatch(/cannot open: ENOENT/);
  });

  it('model.json: a shard path outside the folder, a 4 GB weight declared, shards that do not hold what the manifest says', async () => {
    const sub = path.join(dir, 'tfjs');
    await mkdir(sub);
    const file = await writeTfjsModel(model, sub);
    const json = JSON.parse(await readFile(file, 'utf8')) as {
      weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[] }> }>;
    };
    const variant = async (name: string, edit: (m: typeof json.weightsManifest) => void): Promise<string> => {
      const m = structuredClone(json.weightsManifest);
      edit(m);
      const out = path.join(sub, name);
      await writeFile(out, JSON.stringify({ ...json, weightsManifest: m }));
      return out;
    };
    expect(await refusal(await variant('outside.json', (m) => (m[0]!.paths = ['../../etc/passwd'])))).toMatch(
      /shard path '..\/..\/etc\/passwd' leaves the model's folder/,
    );
    expect(
      await refusal(await variant('huge-extra.json', (m) => m[0]!.weights.push({ name: 'predictions/kernel', shape: [1 << 15, 1 << 15] }))),
    ).toMatch(/declares 4\.3 GB in the shards the model needs, more than/);
    expect(await refusal(await variant('huge-own.json', (m) => (m[0]!.weights[0]!.shape = [1 << 30])))).toMatch(
      /'Conv1\/kernel' is 1073741824 \(4\.3 GB declared\)/,
    );
    expect(await refusal(await variant('short.json', (m) => m[0]!.weights.push({ name: 'extra/bias', shape: [4] })))).toMatch(
      /the files hold/,
    );
  });
});

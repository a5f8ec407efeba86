import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend } from '../../src/backend/index.js';
import { decodeCheckpoint } from '../../src/experiment/train/checkpoint.js';
import type { ResultsFile } from '../../src/experiment/store/results.js';
import { InputError } from '../../src/experiment/errors.js';
import { builtinArms } from '../../src/experiment/plan/builtinArms.js';
import { validateConfig } from '../../src/experiment/plan/validate.js';
import { createModel, HEAD_NAME } from '../../src/models/index.js';
import { fileSha256 } from '../../src/models/weightFiles.js';
import { writeSyntheticFolder } from '../../src/sources/synthetic.js';
import { parseCommand, UsageError } from '../../src/cli/args.js';
import { runCli } from '../cli/helpers.js';
import { tempDir } from '../helpers.js';
import { haveH5py, layersOf, writeKerasH5 } from './kerasFiles.js';

beforeAll(async () => {
  expect((await resolveBackend('wasm')).tfBackend).toBe('wasm');
});

describe('mixstream ablate with a pretrained backbone (the seed-scale command, tiny)', () => {
  it.runIf(haveH5py())(
    '--model mobilenet-v2 --weights W.h5 --size 224 --freeze backbone trains on a 120-class folder; the report shows backbone, hash and policy',
    async () => {
      const dir = await tempDir();
      const data = path.join(dir, 'dogs');
      // Stanford-Dogs-shaped, tiny: 120 classes of 2 images (1 to train, 1 to validate), 1 epoch, 1 seed.
      await writeSyntheticFolder(data, { classes: 120, perClass: 2, seed: 5, minSide: 40, maxSide: 64 });
      // W.h5: a Keras-layout no-top file (as keras.applications downloads), from a seeded MobileNetV2 1.0.
      const source = createModel('mobilenet-v2', { inputSize: 224, numClasses: 120, seed: 11, compile: false });
      const weights = path.join(dir, 'W.h5');
      await writeKerasH5(
        weights,
        layersOf(source, (n) => n !== HEAD_NAME),
        'applications',
      );
      const conv1 = Array.from(source.getLayer('Conv1').getWeights()[0]!.dataSync().slice(0, 8));
      const bnMean = Array.from(source.getLayer('bn_Conv1').getWeights()[2]!.dataSync().slice(0, 8));
      source.dispose();
      const out = path.join(dir, 'out');
      const r = await runCli(
        [
          'ablate',
          ...['--data', data, '--model', 'mobilenet-v2', '--weights', weights, '--size', '224', '--freeze', 'backbone'],
          ...['--arms', 'baseline', '--epochs', '1', '--seeds', '1', '--batch', '16', '--val-split', '0.5', '--test-split', '0'],
          ...['--backend', 'wasm', '--jobs', '1', '--out', out, '--keep-checkpoints'],
        ],
        { env: { MIXSTREAM_CACHE: path.join(dir, 'cache') } },
      );
      expect(r.code, r.stderr).toBe(0);
      const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as ResultsFile;
      const run = results.runs[0]!;
      expect(results.data.classes).toHaveLength(120);
      expect(run.epochs).toHaveLength(1);
      expect(Number.isFinite(run.epochs[0]!.valLoss)).toBe(true);
      // Preprocessing is a recorded step of both pipelines.
      expect(run.pipeline.train).toContain('preprocessInput({"mode":"tf"})');
      expect(run.pipeline.validation).toBe(
        'normalizeResize({"size":224}) -> batch({"size":16}) -> oneHot({}) -> preprocessInput({"mode":"tf"})',
      );
      const sha256 = await fileSha256(weights);
      expect(results.config).toMatchObject({ weights, weightsSha256: sha256, fineTune: { freeze: 'backbone' }, preprocess: 'tf' });
      const html = await readFile(path.join(out, 'report.html'), 'utf8');
      expect(html).toContain(sha256);
      const row = /<tr><td>backbone<\/td><td>([^<]*(?:<code>[^<]*<\/code>[^<]*)*)<\/td><\/tr>/.exec(html)?.[1];
      expect(row).toBe(
        `mobilenet-v2: weights ${weights} (file <code>${weights}</code>, SHA-256 <code>${sha256}</code>); backbone frozen (batch norm in inference mode); input preprocessing 'tf'`,
      );
      // The trained model (its kept checkpoint): the frozen backbone still holds the file's weights, the head moved.
      const checkpoint = decodeCheckpoint(await readFile(path.join(out, 'runs', results.configHash, 'baseline-s1.checkpoint')));
      if (typeof checkpoint === 'string') throw new Error(checkpoint);
      const probe = createModel('mobilenet-v2', { inputSize: 224, numClasses: 120, seed: 1, compile: false });
      const at = (name: string): number[] => {
        const i = probe.weights.findIndex((w) => w.originalName === name);
        return Array.from(checkpoint.weights[i]!.values.slice(0, 8));
      };
      expect(at('Conv1/kernel')).toEqual(conv1);
      expect(at('bn_Conv1/moving_mean')).toEqual(bnMean); // inference mode: statistics not updated
      // The head trained (its bias: the kernel's gradient is tiny on a random backbone's features).
      expect(at(`${HEAD_NAME}/bias`).some((v) => v !== 0)).toBe(true);
      probe.dispose();
    },
    240_000,
  );

  it('--weights, --freeze, --unfreeze-at, --backbone-lr-mult: parsed into the config, refused in one line when they cannot hold', () => {
    const c = parseCommand([
      'ablate',
      '--model',
      'resnet50',
      '--weights',
      'imagenet',
      '--freeze',
      'backbone',
      '--unfreeze-at',
      '3',
      '--backbone-lr-mult',
      '0.1',
    ]);
    expect(c.kind === 'ablate' && c.config).toMatchObject({
      model: 'resnet50',
      weights: 'imagenet',
      fineTune: { freeze: 'backbone', unfreezeAt: 3, backboneLrMult: 0.1 },
    });
    // The parsers check that a value parses (UsageError); validateConfig what it may be (InputError), for CLI and API alike.
    const bad = (args: string[]): string => {
      try {
        const command = parseCommand(['ablate', ...args]);
        if (command.kind === 'ablate') validateConfig(command.config, builtinArms());
      } catch (e) {
        expect(e instanceof UsageError || e instanceof InputError).toBe(true);
        return (e as Error).message;
      }
      throw new Error(`accepted: ${args.join(' ')}`);
    };
    expect(bad(['--weights', 'imagenet'])).toBe("--weights imagenet needs --model mobilenet-v2 or resnet50, got 'simple-cnn'");
    expect(bad(['--weights', 'w.h5', '--model', 'mine/model.json'])).toBe(
      '--weights is for zoo models; a --model file brings its own weights',
    );
    expect(bad(['--unfreeze-at', '2'])).toBe('--unfreeze-at needs --freeze backbone');
    expect(bad(['--freeze', 'everything'])).toBe("--freeze must be backbone or none, got 'everything'");
    expect(bad(['--freeze', 'backbone', '--unfreeze-at', '0'])).toMatch(/--unfreeze-at must be a positive integer/);
    expect(bad(['--backbone-lr-mult', '-1'])).toBe("--backbone-lr-mult must be a number >= 0, got '-1'");
    expect(bad(['--weights', ' '])).toBe("--weights must name a file or 'imagenet'");
  });

  it('offline, --weights imagenet fails (exit 2) in one line naming the URL and where to put the file', async () => {
    const dir = await tempDir();
    const data = path.join(dir, 'tiny');
    await writeSyntheticFolder(data, { classes: 2, perClass: 4, seed: 1, minSide: 12, maxSide: 16 });
    const cache = path.join(dir, 'cache');
    // A port that was just free: nothing listens there, the connection is refused at once.
    const server = http.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const r = await runCli(
      [
        'ablate',
        '--data',
        data,
        '--model',
        'resnet50',
        '--weights',
        'imagenet',
        '--size',
        '32',
        '--epochs',
        '1',
        '--seeds',
        '1',
        '--jobs',
        '1',
      ],
      { env: { MIXSTREAM_CACHE: cache, MIXSTREAM_WEIGHTS_URL: `http://127.0.0.1:${port}/keras/` } },
    );
    expect(r.code).toBe(2);
    const file = path.join(cache, 'weights', 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5');
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        `^mixstream: --weights imagenet: cannot download 'http://127\\.0\\.0\\.1:${port}/keras/resnet50_weights_tf_dim_ordering_tf_kernels_notop\\.h5' \\(.*ECONNREFUSED.*\\); offline, put the file at '${file.replace(/[.]/g, '\\.')}' and run again$`,
      ),
    );
  });
});

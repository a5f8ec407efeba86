/** The pure parts of the hostile-input defences: the training-size estimate, escaping, error classes, header parsing. */
import { describe, expect, it } from 'vitest';
import { jpegDimensions } from '../../src/core/jpeg.js';
import { pixelLimitReason } from '../../src/core/limits.js';
import { InputError, isInputProblem, printable } from '../../src/experiment/errors.js';
import { checkModelOptions, checkTrainingShape, modelFootprint, trainingBytes } from '../../src/experiment/plan/limits.js';
import { createModel, type ModelName } from '../../src/models/index.js';
import { SourceError } from '../../src/sources/files.js';
import { CONTROL_NAME, jpegPixelBomb, realImage } from './corpus.js';

describe('the training-step estimate', () => {
  it('counts exactly the parameters the zoo builds, for every model, default and custom options', () => {
    const cases: Array<[ModelName, Record<string, unknown>, number]> = [
      ['simple-cnn', {}, 32],
      ['simple-cnn', { filters: [8, 16], hidden: 64 }, 33],
      ['resnet', {}, 32],
      ['resnet', { blocksPerStage: 2, widths: [8, 16, 16] }, 20],
      ['mobilenet', {}, 32],
      ['mobilenet', { alpha: 1, depthMultiplier: 2 }, 24],
    ];
    for (const [model, options, size] of cases) {
      const built = createModel(model, { ...options, inputSize: size, numClasses: 10, compile: false } as Parameters<
        typeof createModel
      >[1]);
      expect(modelFootprint(model, options, size, 3, 10).params, `${model} ${JSON.stringify(options)}`).toBe(built.countParams());
      built.dispose();
    }
  });

  it('grows with size, batch and width, and refuses what the issue saw grow until killed', () => {
    expect(trainingBytes('simple-cnn', {}, 64, 32)).toBeGreaterThan(trainingBytes('simple-cnn', {}, 32, 32));
    expect(trainingBytes('simple-cnn', {}, 32, 64)).toBeGreaterThan(trainingBytes('simple-cnn', {}, 32, 32));
    expect(() =>
      checkTrainingShape({ model: 'simple-cnn', modelOptions: { filters: [8, 16], hidden: 64 }, size: 4000, batchSize: 32 }),
    ).toThrow(/needs about 1\d\d\.\d GiB to train, over the 8\.0 GiB budget/);
    expect(() => checkTrainingShape({ model: 'simple-cnn', modelOptions: {}, size: 8000, batchSize: 1 })).toThrow(
      /--size 8000 makes 64000000 pixels an image, over the pixel limit 40000000/,
    );
    expect(() => checkModelOptions('simple-cnn', { hidden: 2_000_000 })).toThrow(InputError);
    expect(() => checkModelOptions('mobilenet', { alpha: 0 })).toThrow(/alpha' of mobilenet must be a number in \(0, 8\]/);
    expect(() => checkModelOptions('resnet', { seed: 3 })).toThrow(/model option 'seed' is not one resnet takes/);
    // The defaults and the reference workload (224 px) fit.
    expect(() =>
      checkTrainingShape({ model: 'simple-cnn', modelOptions: { filters: [8, 16], hidden: 64 }, size: 32, batchSize: 32 }),
    ).not.toThrow();
    expect(() => checkTrainingShape({ model: 'mobilenet', modelOptions: {}, size: 224, batchSize: 16 })).not.toThrow();
  });
});

describe('messages', () => {
  it('printable escapes newlines, ESC, NUL, C1 and line separators, and leaves the rest', () => {
    expect(printable(`a/${CONTROL_NAME}.jpg`)).toBe('a/bad\\nname\\e[31m.jpg');
    expect(printable('x\u0000y\u009b\u2028z\té')).toBe('x\\x00y\\x9b\\u2028z\\té');
  });

  it('input problems: InputError, data errors naming a file, file-system errors on a path; not bugs', () => {
    expect(isInputProblem(new InputError('x'))).toBe(true);
    expect(isInputProblem(new SourceError('tfrecord', 'a@0', 'data CRC mismatch'))).toBe(true);
    expect(isInputProblem(Object.assign(new Error('ENOENT'), { code: 'ENOENT', path: '/x' }))).toBe(true);
    expect(isInputProblem(new TypeError('x is undefined'))).toBe(false);
    expect(isInputProblem(Object.assign(new Error('boom'), { code: 'ERR_SOMETHING' }))).toBe(false);
  });
});

describe('headers', () => {
  it('jpegDimensions reads the SOF of real and hostile JPEGs; pixelLimitReason names size and limit', async () => {
    expect(jpegDimensions(await realImage(100, 80))).toEqual({ width: 100, height: 80 });
    expect(jpegDimensions(jpegPixelBomb(65535, 3))).toEqual({ width: 65535, height: 3 });
    expect(jpegDimensions(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 2]))).toBeUndefined();
    expect(pixelLimitReason(100, 80, 8000)).toBeUndefined();
    expect(pixelLimitReason(100, 81, 8000)).toBe(
      'declares an image of 100x81 = 8100 pixels, over the limit of 8000 (maxPixels, --max-pixels)',
    );
    expect(pixelLimitReason(0, 80, 8000)).toBe('declares an image of 0x80 pixels');
  });
});

import { from, lastValueFrom, toArray, type Observable, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Batch, EncodedSample, ImageSample } from '../../src/core/types.js';
import { augment, batch, cutmix, labelSmoothing, mixup, normalizeResize, oneHot } from '../../src/operators/index.js';
import { toAsyncIterable } from '../../src/sinks/index.js';
import { countingSource } from '../helpers.js';

/** Misuse fails on the first item, naming the operator, what it got and what must come before it. */

const encoded = (index: number): EncodedSample => ({
  input: `/data/dogs/${index}.jpg`,
  origin: `/data/dogs/${index}.jpg`,
  label: 0,
  numClasses: 2,
  epoch: 0,
  index,
});
const run = <T, R>(items: T[], op: OperatorFunction<T, R>): Promise<R[]> => lastValueFrom(from(items).pipe(op, toArray()));
const loose = <T, R>(op: OperatorFunction<T, R>): OperatorFunction<unknown, unknown> => op as unknown as OperatorFunction<unknown, unknown>;

describe('an operator handed the wrong kind of item', () => {
  it('batch given encoded samples (normalizeResize missing) names normalizeResize, on the first item', async () => {
    const counted = from([encoded(0), encoded(1)]).pipe(loose(batch(2)));
    await expect(lastValueFrom(counted)).rejects.toThrow(
      /^batch: got an encoded sample \('\/data\/dogs\/0\.jpg'\), not a decoded image: put normalizeResize\(\{ size \}\) before batch$/,
    );
  });

  it('augment given encoded samples or batches says what must come before, or after', async () => {
    await expect(run([encoded(0)], loose(augment({ flip: 'horizontal' })))).rejects.toThrow(
      /augment: got an encoded sample.*put normalizeResize\(\{ size \}\) before augment/,
    );
    const { source } = countingSource(4);
    await expect(lastValueFrom(source.pipe(batch(2), loose(augment())))).rejects.toThrow(
      /augment: got a batch of 2 images, but it works on samples: put augment before batch\(n\)/,
    );
  });

  it('cutmix, mixup, oneHot and labelSmoothing given samples say batch(n) must come first', async () => {
    const { source } = countingSource(4);
    for (const [name, op] of [
      ['cutmix', cutmix()],
      ['mixup', mixup()],
      ['oneHot', oneHot()],
      ['labelSmoothing', labelSmoothing(0.1)],
    ] as const) {
      await expect(lastValueFrom(source.pipe(loose(op)))).rejects.toThrow(
        new RegExp(`^${name}: got a sample \\('item0'\\), but it works on batches: put batch\\(n\\) before ${name}$`),
      );
      await expect(run([encoded(3)], loose(op))).rejects.toThrow(
        new RegExp(`${name}: got an encoded sample.*put normalizeResize\\(\\{ size \\}\\) and batch\\(n\\) before ${name}`),
      );
    }
  });

  it('normalizeResize given batches says it goes right after the source', async () => {
    const { source } = countingSource(4);
    await expect(lastValueFrom(source.pipe(batch(2), loose(normalizeResize({ size: 4, workers: 0 }))))).rejects.toThrow(
      /normalizeResize: got a batch.*right after the source, before batch\(n\)/,
    );
  });

  it('through a sink, the error reaches the consumer on the first item and the source stops', async () => {
    const { source, pulls } = countingSource(1000);
    const wrong = source.pipe(batch(4), loose(augment())) as Observable<Batch | ImageSample>;
    const it = toAsyncIterable(wrong)[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(/augment: got a batch/);
    expect(pulls()).toBeLessThan(20);
  });
});

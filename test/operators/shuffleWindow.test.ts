import fc from 'fast-check';
import { from, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { ImageSample, Position } from '../../src/core/types.js';
import { shuffleWindow } from '../../src/operators/shuffleWindow.js';
import { firehoseIntoTake3 } from '../helpers.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

interface Item extends Position {
  readonly id: string;
}
const items = (n: number, epoch = 0): Item[] => Array.from({ length: n }, (_, index) => ({ epoch, index, id: `${epoch}:${index}` }));

function shuffled(input: Item[], size: number, seed = 0): number[] {
  const out: number[] = [];
  from(input)
    .pipe(shuffleWindow(size, { seed }))
    .subscribe((x) => out.push(x.index));
  return out;
}

/** An item as the window emits it: stamped with the next random operator's place in the chain (core/seeds.ts). */
const out1 = (x: Item): Item => ({ ...x, stream: 1 });

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('shuffleWindow', () => {
  it('emits a permutation of its input, deterministic for a seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 70 }), fc.integer(), (n, size, seed) => {
        const out = shuffled(items(n), size, seed);
        expect([...out].sort((a, b) => a - b)).toEqual(range(n));
        expect(shuffled(items(n), size, seed)).toEqual(out);
      }),
    );
  });

  it('changes with the seed and with the epoch of the items', () => {
    const base = shuffled(items(50), 10, 1);
    expect(base).not.toEqual(range(50));
    expect(shuffled(items(50), 10, 2)).not.toEqual(base);
    expect(shuffled(items(50, 1), 10, 1)).not.toEqual(base);
    expect(shuffled(items(50, 1), 10, 1)).toEqual(shuffled(items(50, 1), 10, 1));
  });

  it('size 1 is the identity', () => {
    expect(shuffled(items(30), 1, 7)).toEqual(range(30));
  });

  it('size >= length is a full, uniform shuffle', () => {
    const n = 5;
    const runs = 2000;
    const firstCounts = new Array<number>(n).fill(0);
    const lastCounts = new Array<number>(n).fill(0);
    for (let seed = 0; seed < runs; seed++) {
      const out = shuffled(items(n), 100, seed);
      firstCounts[out[0] as number]! += 1;
      lastCounts[out[n - 1] as number]! += 1;
    }
    const sd = Math.sqrt(runs * (1 / n) * (1 - 1 / n));
    for (const c of [...firstCounts, ...lastCounts]) expect(Math.abs(c - runs / n)).toBeLessThan(5 * sd);
  });

  it('the window emits nothing before size + 1 items arrived, then one per item, the rest on completion', () => {
    for (const size of [1, 3, 8]) {
      const input = new Subject<Item>();
      const out: Item[] = [];
      let completed = false;
      input.pipe(shuffleWindow(size, { seed: 3 })).subscribe({ next: (x) => out.push(x), complete: () => (completed = true) });
      for (const [k, item] of items(20).entries()) {
        input.next(item);
        expect(out.length).toBe(Math.max(0, k + 1 - size));
        // an emitted item has arrived already
        for (const x of out) expect(x.index).toBeLessThanOrEqual(k);
      }
      expect(completed).toBe(false);
      input.complete();
      expect(out.length).toBe(20);
      expect(completed).toBe(true);
    }
  });

  it('the first emitted item is uniform over the first size items (tf.data buffer semantics)', () => {
    const size = 4;
    const counts = new Array<number>(size + 1).fill(0);
    const runs = 2000;
    for (let seed = 0; seed < runs; seed++) {
      const input = new Subject<Item>();
      let first: Item | undefined;
      input.pipe(shuffleWindow(size, { seed })).subscribe((x) => (first ??= x));
      for (const item of items(size + 1)) input.next(item);
      counts[first?.index as number]! += 1;
    }
    expect(counts[size]).toBe(0); // the newest item is never emitted straight away
    const sd = Math.sqrt(runs * (1 / size) * (1 - 1 / size));
    for (const c of counts.slice(0, size)) expect(Math.abs(c - runs / size)).toBeLessThan(5 * sd);
  });

  it('marbles: size 1 delays by one item; a larger window holds everything until completion', () => {
    const [a, b, c] = items(3) as [Item, Item, Item];
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const s1 = cold('-a-b-c-|', { a, b, c });
      expectObservable(s1.pipe(shuffleWindow(1))).toBe('---a-b-(c|)', { a: out1(a), b: out1(b), c: out1(c) });
      expectSubscriptions(s1.subscriptions).toBe('^------!');
      // nothing before completion at frame 7, then all three in the seeded order
      const order = shuffled([a, b, c], 3, 4).map((i) => [a, b, c][i] as Item);
      expect(order.map((x) => x.index).sort()).toEqual([0, 1, 2]);
      const s2 = cold('-a-b-c-|', { a, b, c });
      expectObservable(s2.pipe(shuffleWindow(3, { seed: 4 }))).toBe('-------(xyz|)', {
        x: out1(order[0] as Item),
        y: out1(order[1] as Item),
        z: out1(order[2] as Item),
      });
      const s3 = cold('-a-b-c-|', { a, b, c });
      expectObservable(s3.pipe(shuffleWindow(3)), '^-----!').toBe('-------');
      expectSubscriptions(s3.subscriptions).toBe('^-----!');
    });
  });

  it('a source error propagates (buffered items are dropped); an empty source completes empty', () => {
    const [a, b] = items(2) as [Item, Item];
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const err = new Error('read failed');
      const s1 = cold('-a-b-#', { a, b }, err);
      expectObservable(s1.pipe(shuffleWindow(1))).toBe('---a-#', { a: out1(a) }, err);
      expectSubscriptions(s1.subscriptions).toBe('^----!');
      const s2 = cold('-a-b-#', { a, b }, err);
      expectObservable(s2.pipe(shuffleWindow(10))).toBe('-----#', {}, err);
      expectObservable(cold<Item>('--|').pipe(shuffleWindow(4))).toBe('--|');
    });
  });

  it('early unsubscription unsubscribes the source', () => {
    const [a, b, c, d] = items(4) as [Item, Item, Item, Item];
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d-|', { a, b, c, d });
      expectObservable(source.pipe(shuffleWindow(1)), '^---!').toBe('--a-', { a: out1(a) });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('a firehose into take(3) stops pulling the source after size + 3 items', () => {
    const { values, pulled } = firehoseIntoTake3(shuffleWindow<Item>(4), (index): Item => ({ epoch: 0, index, id: String(index) }));
    expect([values.length, pulled]).toEqual([3, 7]);
  });

  it('validates options at creation: RangeErrors naming the option', () => {
    for (const size of [0, -1, 2.5, Number.NaN]) {
      expect(() => shuffleWindow(size)).toThrow(RangeError);
      expect(() => shuffleWindow(size)).toThrow(/size/);
    }
    expect(() => shuffleWindow(3, { seed: Number.NaN })).toThrow(/seed/);
  });
});

describe('shuffleWindow with decoded images', () => {
  it('gives every image back with the same values, whether it waited as bytes (k/255) or as float32', async () => {
    const { lastValueFrom, toArray, from } = await import('rxjs');
    const make = (index: number, exact: boolean): ImageSample => ({
      image: Float32Array.from({ length: 12 }, (_, i) => (exact ? ((index * 7 + i) % 256) / 255 : (index + i) * 0.1234567)),
      height: 2,
      width: 2,
      channels: 3,
      label: 0,
      numClasses: 1,
      origin: `s${index}`,
      epoch: 0,
      index,
    });
    const input = Array.from({ length: 30 }, (_, i) => make(i, i % 2 === 0));
    const out = await lastValueFrom(from(input).pipe(shuffleWindow(8, { seed: 4 }), toArray()));
    expect(out.map((s) => s.index).sort((a, b) => a - b)).toEqual(input.map((s) => s.index));
    const { valuesOf } = await import('../../src/core/image.js');
    for (const s of out) expect(Array.from(valuesOf(s))).toEqual(Array.from(input[s.index]!.image));
    // The exact ones waited, and left, as bytes.
    expect(out.filter((s) => s.image instanceof Uint8Array).map((s) => s.index % 2)).toEqual(
      out.filter((s) => s.index % 2 === 0).map(() => 0),
    );
  });
});

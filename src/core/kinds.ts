import type { Batch } from './types.js';

/** What flows at some point of a chain, as far as an operator's input check cares. */
export type Kind = 'encoded sample' | 'image sample' | 'batch' | 'other';

export function kindOf(value: unknown): Kind {
  if (typeof value !== 'object' || value === null) return 'other';
  if ('shape' in value && 'images' in value && 'labels' in value) return 'batch';
  if ('image' in value && 'height' in value && 'width' in value && 'channels' in value) return 'image sample';
  if ('input' in value && 'origin' in value) return 'encoded sample';
  return 'other';
}

function shown(value: unknown): string {
  if (typeof value !== 'object' || value === null) return `${typeof value} ${String(value).slice(0, 40)}`;
  const keys = Object.keys(value).slice(0, 6);
  return `an object with keys {${keys.join(', ')}}`;
}

/**
 * Throws a TypeError naming `op`, what it got and what must come before it, unless `value` is of
 * kind `want`. Called on each item (a few property checks): a chain in the wrong order fails on
 * its first item, not deep inside the maths with an unrelated message.
 */
export function expectKind(op: string, want: 'image sample' | 'batch', value: unknown): void {
  const got = kindOf(value);
  if (got === want) return;
  const origin = (value as { origin?: unknown } | null)?.origin;
  const named = typeof origin === 'string' ? ` ('${origin}')` : '';
  if (want === 'image sample') {
    if (got === 'encoded sample')
      throw new TypeError(`${op}: got an encoded sample${named}, not a decoded image: put normalizeResize({ size }) before ${op}`);
    if (got === 'batch')
      throw new TypeError(`${op}: got a batch of ${(value as Batch).shape[0]} images, but it works on samples: put ${op} before batch(n)`);
    throw new TypeError(
      `${op}: got ${shown(value)}, not an image sample: put a mixstream source, then normalizeResize({ size }), before ${op}`,
    );
  }
  if (got === 'encoded sample')
    throw new TypeError(
      `${op}: got an encoded sample${named}, but it works on batches: put normalizeResize({ size }) and batch(n) before ${op}`,
    );
  if (got === 'image sample') throw new TypeError(`${op}: got a sample${named}, but it works on batches: put batch(n) before ${op}`);
  throw new TypeError(`${op}: got ${shown(value)}, not a batch: put batch(n) before ${op}`);
}

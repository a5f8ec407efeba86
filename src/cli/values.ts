/**
 * One flag value at a time: the parsers the flag table (flags.ts) uses, each throwing a UsageError
 * that names the flag and what it got.
 */
import type { Shard } from '../experiment/plan/planRuns.js';
import { MAX_SEEDS } from '../experiment/plan/validate.js';

/** A bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`--${flag} must be a positive integer, got '${value}'`);
  return Number(value);
}

/** A decimal number as written on a command line (a sign, digits, a point, an exponent), or undefined. */
export function decimal(value: string): number | undefined {
  const v = value.trim();
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v) ? Number(v) : undefined;
}

export function fraction(flag: string, value: string, low: number, high: number): number {
  const n = decimal(value);
  if (n === undefined) throw new UsageError(`--${flag} must be a number, got '${value}'`);
  if (!(n > low && n < high)) throw new UsageError(`--${flag} must be in (${low}, ${high}), got ${value.trim()}`);
  return n;
}

/** A recipe number: 0 (however written: 0, 0.0, 0e0), or in (0, 1e6). */
export const recipeNumber = (flag: string, value: string): number => (decimal(value) === 0 ? 0 : fraction(flag, value, 0, 1e6));

/** '3' -> [1, 2, 3]; '0,7,42' -> [0, 7, 42]; '7,' -> [7]. */
export function parseSeeds(value: string): number[] {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = positiveInt('seeds', v);
    if (n > MAX_SEEDS) throw new UsageError(`--seeds count must be at most ${MAX_SEEDS}, got ${n}`);
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  const parts = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0 || !parts.every((s) => /^\d+$/.test(s) && Number.isSafeInteger(Number(s)))) {
    throw new UsageError(`--seeds must be a count or a comma list of integers >= 0, got '${value}'`);
  }
  if (parts.length > MAX_SEEDS) throw new UsageError(`--seeds lists ${parts.length} seeds; at most ${MAX_SEEDS}`);
  return parts.map(Number);
}

/** '2/4' -> { index: 2, count: 4 } (the range: plan/validate.ts's validateShard). */
export function parseShard(value: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new UsageError(`--shard must be INDEX/COUNT (e.g. 0/4), got '${value}'`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** A folder flag's value: not empty. */
export const folder = (flag: string, value: string): string => {
  if (value.trim() === '') throw new UsageError(`--${flag} must name a folder`);
  return value;
};

/**
 * The installed dependencies accept the Node versions package.json says it runs on: an install on
 * Node 20 printed `EBADENGINE vega-lite requires node >=22` while the package said >= 20.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo } from './cli/helpers.js';

type Version = [number, number, number];
const parse = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v
    .replace(/^v/, '')
    .split('.')
    .map((x) => Number.parseInt(x, 10) || 0);
  return [a, b, c];
};
const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `v` satisfies an engines range made of `||`-joined parts of `>=X.Y.Z`, `^X.Y.Z`, `X`, `X.Y.Z` or `*`. */
export function satisfies(v: Version, range: string): boolean {
  return range.split('||').some((part) =>
    part
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1')
      .trim()
      .split(/\s+/)
      .every((c) => {
        if (c === '*' || c === '') return true;
        const m = /^(>=|>|<=|<|\^|~|=)?v?([\d.xX*]+)$/.exec(c);
        if (!m) throw new Error(`range part '${c}' not understood`);
        const w = parse(m[2] as string);
        const d = cmp(v, w);
        switch (m[1]) {
          case '>=':
            return d >= 0;
          case '>':
            return d > 0;
          case '<=':
            return d <= 0;
          case '<':
            return d < 0;
          case '^':
            return d >= 0 && v[0] === w[0];
          case '~':
            return d >= 0 && v[0] === w[0] && v[1] === w[1];
          default:
            // 'X' or 'X.Y.Z': the same major (and minor, patch when given)
            return (m[2] as string).split('.').every((p, i) => p === 'x' || p === 'X' || p === '*' || Number(p) === v[i]);
        }
      }),
  );
}

describe('engines', () => {
  const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean; optional?: boolean; version?: string }>;
  };

  it('the range parser reads the forms the lock file holds', () => {
    expect(satisfies([20, 19, 0], '^20.19.0 || ^22.12.0 || >=23')).toBe(true);
    expect(satisfies([20, 18, 9], '^20.19.0 || ^22.12.0 || >=23')).toBe(false);
    expect(satisfies([20, 19, 0], '>=22')).toBe(false);
    expect(satisfies([21, 0, 0], '18 || 20 || >=22')).toBe(false);
    expect(satisfies([20, 1, 0], '18 || 20 || >=22')).toBe(true);
  });

  it('every runtime dependency in package-lock.json accepts the oldest Node that package.json allows, and this one', () => {
    const oldest = parse(/^>=\s*([\d.]+)$/.exec(pkg.engines.node)?.[1] ?? 'none');
    expect(oldest[0]).toBe(20);
    const refusing: string[] = [];
    for (const [name, p] of Object.entries(lock.packages)) {
      const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
      if (!name || p.dev || range === undefined) continue;
      for (const v of [oldest, parse(process.version)])
        if (!satisfies(v, range)) refusing.push(`${name}@${p.version ?? '?'} wants node ${range}, not ${v.join('.')}`);
    }
    expect(refusing).toEqual([]);
    // The report's libraries in particular (vega-lite 6.5 wants Node 22).
    expect(lock.packages['node_modules/vega-lite']?.version).toBe('6.4.3');
  });
});

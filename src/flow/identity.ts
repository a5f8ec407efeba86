import type { Observable } from 'rxjs';
import { hashKeys } from '../core/random.js';

/**
 * What a pipeline stage is, so a cache can tell when the source or the options before it changed:
 * a static description (the chain of stages with their options) and, from the source, a
 * fingerprint of the data itself (file names, sizes, modification times) computed on demand.
 */
export interface Identity {
  readonly description: string;
  readonly fingerprint: () => Promise<string>;
}

const identities = new WeakMap<Observable<unknown>, Identity>();

/** Registers a source: its description and a fingerprint of the data it reads. */
export function describeSource<T>(source: Observable<T>, description: string, data: { fingerprint: () => Promise<string> }): Observable<T> {
  identities.set(source, { description, fingerprint: data.fingerprint });
  return source;
}

/** Registers `output` as `step` applied to `upstream`, when the upstream's identity is known. */
export function describeAs<T>(output: Observable<T>, step: string, upstream: Observable<unknown>): Observable<T> {
  const up = identities.get(upstream);
  if (up) identities.set(output, { description: `${up.description} -> ${step}`, fingerprint: up.fingerprint });
  return output;
}

/** The identity of a pipeline built from mixstream's sources and operators; undefined past a foreign stage. */
export function identityOf(source: Observable<unknown>): Identity | undefined {
  return identities.get(source);
}

/** A short stable hex key of strings. */
export function keyOf(...parts: string[]): string {
  return [1, 2, 3, 4].map((salt) => hashKeys(parts, salt).toString(16).padStart(8, '0')).join('');
}
